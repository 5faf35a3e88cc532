//! One control-socket connection: read one command through the [`JsonFeed`], write one answer.
//!
//! Kea 2.2's `Connection` (`src/lib/config/command_mgr.cc`): reads in 32 KiB chunks, re-arms an
//! idle timer on every chunk (10 s by default), and when it fires answers
//! `Connection over control channel timed out[, discarded partial command of N bytes]`. A peer
//! that closes before completing a command gets no answer. The answer is written without a
//! trailing newline and the connection is then shut down.
//!
//! Generic over the stream so that tests can drive it with an in-memory duplex and paused time.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::answer::Answer;
use crate::feed::{FeedStatus, JsonFeed};

/// Kea's receive buffer size.
const READ_CHUNK: usize = 32 * 1024;

/// What the peer sent.
#[derive(Debug)]
pub(crate) enum Request {
    /// A complete JSON value, to be processed as a command.
    Command(Value),
    /// The input cannot become a command: answer this and close.
    Invalid(Answer),
    /// No byte came for the idle timeout: answer this (Kea's timeout text) and close.
    TimedOut(Answer),
    /// The peer closed its side before completing a command; `partial` bytes were discarded.
    Closed { partial: usize },
}

/// A client connection owning its read buffer and feed.
#[derive(Debug)]
pub(crate) struct Connection<S> {
    stream: S,
    buffer: Box<[u8]>,
    feed: JsonFeed,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub(crate) fn new(stream: S, max_command_size: usize) -> Self {
        Self {
            stream,
            buffer: vec![0; READ_CHUNK].into_boxed_slice(),
            feed: JsonFeed::with_max_size(max_command_size),
        }
    }

    /// Reads until one command is complete, the input is invalid, the peer closes, or no byte
    /// arrives for `idle_timeout`.
    ///
    /// Cancel-safe in the sense the server needs: dropping it mid-read loses only this
    /// connection's partial command.
    pub(crate) async fn read_request(
        &mut self,
        idle_timeout: Duration,
    ) -> std::io::Result<Request> {
        loop {
            let read = tokio::time::timeout(idle_timeout, self.stream.read(&mut self.buffer)).await;
            let len = match read {
                Err(_elapsed) => return Ok(Request::TimedOut(self.timeout_answer())),
                Ok(result) => result?,
            };
            if len == 0 {
                return Ok(Request::Closed {
                    partial: self.feed.processed_len(),
                });
            }
            let chunk = self.buffer.get(..len).unwrap_or_default();
            match self.feed.push(chunk) {
                Ok(FeedStatus::NeedMoreData) => {}
                // Bytes after the command are ignored, as Kea ignores them.
                Ok(FeedStatus::Complete { .. }) => {
                    return Ok(match self.feed.to_value() {
                        Ok(value) => Request::Command(value),
                        Err(err) => Request::Invalid(Answer::error(err.to_string())),
                    });
                }
                Err(err) => return Ok(Request::Invalid(Answer::error(err.to_string()))),
            }
        }
    }

    /// Writes `answer` in Kea's format (no trailing newline), then shuts the stream down.
    pub(crate) async fn write_answer(
        &mut self,
        answer: &Answer,
        write_timeout: Duration,
    ) -> std::io::Result<()> {
        let bytes = answer.to_kea_json();
        let write = async {
            self.stream.write_all(bytes.as_bytes()).await?;
            self.stream.shutdown().await
        };
        match tokio::time::timeout(write_timeout, write).await {
            Ok(result) => result,
            Err(_elapsed) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "peer did not read the answer in time",
            )),
        }
    }

    fn timeout_answer(&self) -> Answer {
        let partial = self.feed.processed_len();
        if partial == 0 {
            Answer::error("Connection over control channel timed out")
        } else {
            Answer::error(format!(
                "Connection over control channel timed out, discarded partial command of {partial} bytes"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::io::duplex;

    const IDLE: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn partial_command_times_out_after_ten_idle_seconds() {
        let (client, server) = duplex(1024);
        let mut conn = Connection::new(server, 1 << 20);
        let (_read_half, mut write_half) = tokio::io::split(client);
        write_half
            .write_all(br#"{"command": "list-commands""#)
            .await
            .unwrap();
        let started = tokio::time::Instant::now();
        let request = conn.read_request(IDLE).await.unwrap();
        assert_eq!(started.elapsed(), IDLE);
        let Request::TimedOut(answer) = request else {
            panic!("expected a timeout answer, got {request:?}");
        };
        assert_eq!(
            answer.to_value(),
            json!({"result": 1, "text": "Connection over control channel timed out, discarded partial command of 27 bytes"})
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timer_is_rearmed_by_each_chunk_as_kea() {
        let (mut client, server) = duplex(1024);
        let mut conn = Connection::new(server, 1 << 20);
        let writer = tokio::spawn(async move {
            for byte in br#"{"command": "x"}"# {
                tokio::time::sleep(Duration::from_secs(9)).await;
                client.write_all(&[*byte]).await.unwrap();
            }
            client
        });
        let request = conn.read_request(IDLE).await.unwrap();
        assert!(matches!(request, Request::Command(ref v) if *v == json!({"command": "x"})));
        drop(writer.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn silent_peer_gets_the_short_timeout_text() {
        let (_client, server) = duplex(1024);
        let mut conn = Connection::new(server, 1 << 20);
        let Request::TimedOut(answer) = conn.read_request(IDLE).await.unwrap() else {
            panic!("expected a timeout answer");
        };
        assert_eq!(
            answer.text.as_deref(),
            Some("Connection over control channel timed out")
        );
    }

    #[tokio::test]
    async fn peer_closing_early_gets_no_answer() {
        let (mut client, server) = duplex(1024);
        let mut conn = Connection::new(server, 1 << 20);
        client.write_all(br#"{"command": "foo""#).await.unwrap();
        drop(client);
        let request = conn.read_request(IDLE).await.unwrap();
        assert!(matches!(request, Request::Closed { partial: 17 }));
    }

    #[tokio::test]
    async fn answer_is_written_without_newline_then_closed() {
        let (mut client, server) = duplex(1024);
        let mut conn = Connection::new(server, 1 << 20);
        conn.write_answer(&Answer::unsupported("foo"), IDLE)
            .await
            .unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        assert_eq!(
            out,
            r#"{ "result": 2, "text": "'foo' command not supported." }"#
        );
    }

    #[tokio::test]
    async fn oversized_command_is_rejected() {
        let (mut client, server) = duplex(64 * 1024);
        let mut conn = Connection::new(server, 100);
        let mut big = br#"{"command": "x", "arguments": ""#.to_vec();
        big.resize(200, b'a');
        client.write_all(&big).await.unwrap();
        let Request::Invalid(answer) = conn.read_request(IDLE).await.unwrap() else {
            panic!("expected a rejection");
        };
        assert_eq!(
            answer.text.as_deref(),
            Some("command over control channel exceeds the maximum size of 100 bytes, discarded")
        );
    }
}
