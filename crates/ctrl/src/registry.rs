//! The command registry: command names mapped to async handlers, and the `command_processed`
//! hook point.
//!
//! This is Kea 2.2's `BaseCommandMgr`/`HookedCommandMgr` (`src/lib/config/`): the server registers
//! its built-in commands, plugins register theirs (and remove them when unloaded), `list-commands`
//! is answered from the registry itself (sorted names in `arguments`, no `text`), an unknown name
//! gets result 2 `'foo' command not supported.`, and the hook runs after every handled command so
//! that a plugin can add to an answer (HA adds its part to `status-get`).
//!
//! Where Kea lets an exception escape (its socket then closes without answering), a handler here
//! that returns an error, panics or exceeds its timeout produces a result-1 answer and the server
//! keeps going: each handler runs in its own task, so a panic unwinds that task only.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::answer::Answer;
use crate::command::Command;

/// The name of the command every registry answers itself.
pub const LIST_COMMANDS: &str = "list-commands";

/// Kea's prefix for errors raised while a parsed command is processed.
const PROCESSING_ERROR_PREFIX: &str = "Error during command processing: ";

/// A handler's failure, answered as result 1 `Error during command processing: <message>`
/// (what Kea answers when a handler throws).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
}

impl HandlerError {
    /// An error with `message`.
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandlerError {}

/// The future a [`CommandHandler`] returns: boxed so that the trait stays object-safe and
/// handlers of different types live in one map, `Send` so that it can run on any worker thread.
pub type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<Answer, HandlerError>> + Send + 'static>>;

/// An async command handler.
///
/// Implemented for every `Fn(Command) -> impl Future<Output = A>` where `A` is an [`Answer`] or a
/// `Result<Answer, E: Display>`; a plugin may also implement it on its own type (one file per
/// command: parse the arguments into a struct, apply, answer).
pub trait CommandHandler: Send + Sync + 'static {
    /// Handles one command. The future must not borrow `self`: clone what it needs (an `Arc`).
    fn handle(&self, command: Command) -> HandlerFuture;
}

/// What a handler closure may resolve to.
pub trait IntoAnswer: Send + 'static {
    /// The answer, or the error to report.
    fn into_answer(self) -> Result<Answer, HandlerError>;
}

impl IntoAnswer for Answer {
    fn into_answer(self) -> Result<Answer, HandlerError> {
        Ok(self)
    }
}

impl<E: fmt::Display + Send + 'static> IntoAnswer for Result<Answer, E> {
    fn into_answer(self) -> Result<Answer, HandlerError> {
        self.map_err(HandlerError::new)
    }
}

impl<F, Fut> CommandHandler for F
where
    F: Fn(Command) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoAnswer,
{
    fn handle(&self, command: Command) -> HandlerFuture {
        let future = self(command);
        Box::pin(async move { future.await.into_answer() })
    }
}

/// The `command_processed` hook point: called after a command was handled, with the answer it
/// got, which the hook may change.
///
/// Synchronous on purpose: it runs on the answer path of every command, must not stall it, and
/// what it adds (HA's state for `status-get`) is in memory. Hooks run in registration order. A
/// hook that panics leaves the answer as it was before that hook.
pub trait CommandProcessedHook: Send + Sync + 'static {
    /// `name` and `arguments` are the command's; `answer` is what will be sent.
    fn command_processed(&self, name: &str, arguments: Option<&Value>, answer: &mut Answer);
}

impl<F> CommandProcessedHook for F
where
    F: Fn(&str, Option<&Value>, &mut Answer) + Send + Sync + 'static,
{
    fn command_processed(&self, name: &str, arguments: Option<&Value>, answer: &mut Answer) {
        self(name, arguments, answer);
    }
}

/// Identifies a registered hook, to remove it when its plugin unloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId(u64);

/// Why a registration change was refused; the texts are Kea's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The name is taken (including `list-commands`).
    #[error("Handler for command '{0}' is already installed.")]
    AlreadyRegistered(String),
    /// No handler of that name.
    #[error("Handler for command '{0}' not found.")]
    NotRegistered(String),
    /// `list-commands` belongs to the registry.
    #[error("Can't uninstall internal command 'list-commands'")]
    Builtin,
}

struct Entry {
    handler: Arc<dyn CommandHandler>,
    timeout: Option<Duration>,
}

/// Command names mapped to handlers; shared (`Arc`) by the socket server, the plugins that
/// register into it and anything else that dispatches commands (the control agent's own).
///
/// Registration takes `&self`: plugins are loaded and unloaded at run time (on `config-set`).
pub struct CommandRegistry {
    handlers: RwLock<BTreeMap<String, Entry>>,
    hooks: RwLock<Vec<(HookId, Arc<dyn CommandProcessedHook>)>>,
    next_hook: AtomicU64,
    default_timeout: Option<Duration>,
}

impl fmt::Debug for CommandRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandRegistry")
            .field("commands", &self.names())
            .field("hooks", &self.read_hooks().len())
            .field("default_timeout", &self.default_timeout)
            .finish()
    }
}

impl Default for CommandRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandRegistry {
    /// A registry knowing only `list-commands`, with no handler timeout (as Kea).
    pub fn new() -> Self {
        Self {
            handlers: RwLock::new(BTreeMap::new()),
            hooks: RwLock::new(Vec::new()),
            next_hook: AtomicU64::new(0),
            default_timeout: None,
        }
    }

    /// The same registry, bounding every handler without its own timeout to `timeout`.
    #[must_use]
    pub fn with_default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = Some(timeout);
        self
    }

    /// Registers `handler` under `name`, bounded by the default timeout if any.
    pub fn register(
        &self,
        name: impl Into<String>,
        handler: impl CommandHandler,
    ) -> Result<(), RegistryError> {
        self.insert(name.into(), Arc::new(handler), None)
    }

    /// Registers `handler` under `name`, answering an error if it runs longer than `timeout`.
    ///
    /// On timeout the handler's task is aborted (as it is when the server's shutdown drain runs
    /// out), so give a timeout only to handlers that are safe to cancel at any `.await`.
    pub fn register_with_timeout(
        &self,
        name: impl Into<String>,
        handler: impl CommandHandler,
        timeout: Duration,
    ) -> Result<(), RegistryError> {
        self.insert(name.into(), Arc::new(handler), Some(timeout))
    }

    fn insert(
        &self,
        name: String,
        handler: Arc<dyn CommandHandler>,
        timeout: Option<Duration>,
    ) -> Result<(), RegistryError> {
        if name == LIST_COMMANDS {
            return Err(RegistryError::AlreadyRegistered(name));
        }
        let mut handlers = self
            .handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if handlers.contains_key(&name) {
            return Err(RegistryError::AlreadyRegistered(name));
        }
        tracing::debug!(command = %name, "COMMAND_REGISTERED");
        handlers.insert(name, Entry { handler, timeout });
        Ok(())
    }

    /// Removes the handler of `name`.
    pub fn deregister(&self, name: &str) -> Result<(), RegistryError> {
        if name == LIST_COMMANDS {
            return Err(RegistryError::Builtin);
        }
        let mut handlers = self
            .handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match handlers.remove(name) {
            Some(_) => {
                tracing::debug!(command = %name, "COMMAND_DEREGISTERED");
                Ok(())
            }
            None => Err(RegistryError::NotRegistered(name.to_owned())),
        }
    }

    /// Whether `name` is answered (always true for `list-commands`).
    pub fn contains(&self, name: &str) -> bool {
        name == LIST_COMMANDS || self.read_handlers().contains_key(name)
    }

    /// All command names, sorted, `list-commands` included: the `list-commands` answer.
    pub fn names(&self) -> Vec<String> {
        let handlers = self.read_handlers();
        let mut names: Vec<String> = handlers.keys().cloned().collect();
        if let Err(position) = names.binary_search_by(|name| name.as_str().cmp(LIST_COMMANDS)) {
            names.insert(position, LIST_COMMANDS.to_owned());
        }
        names
    }

    /// Adds a `command_processed` hook.
    pub fn add_processed_hook(&self, hook: impl CommandProcessedHook) -> HookId {
        let id = HookId(self.next_hook.fetch_add(1, Ordering::Relaxed));
        self.hooks
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((id, Arc::new(hook)));
        id
    }

    /// Removes a hook; false if it was not registered.
    pub fn remove_processed_hook(&self, id: HookId) -> bool {
        let mut hooks = self.hooks.write().unwrap_or_else(PoisonError::into_inner);
        let before = hooks.len();
        hooks.retain(|(hook_id, _)| *hook_id != id);
        hooks.len() != before
    }

    /// Processes a JSON command as Kea's `processCommand` does: validate it (result 1
    /// `Error during command processing: ...` if it is not a command), dispatch it, then run the
    /// `command_processed` hooks on the answer. Never fails: every outcome is an answer.
    pub async fn process(&self, value: Value) -> Answer {
        match Command::from_value(value) {
            Ok(command) => self.process_command(command).await,
            Err(err) => {
                tracing::warn!(error = %err, "COMMAND_PROCESS_ERROR2");
                Answer::error(format!("{PROCESSING_ERROR_PREFIX}{err}"))
            }
        }
    }

    /// Dispatches an already parsed command, then runs the hooks.
    pub async fn process_command(&self, command: Command) -> Answer {
        tracing::info!(command = %command.command, "COMMAND_RECEIVED");
        let name = command.command.clone();
        let arguments = command.arguments.clone();
        match self.dispatch(command).await {
            Ok(answer) => self.run_hooks(&name, arguments.as_ref(), answer),
            // As in Kea, hooks see only answers from handlers that completed.
            Err(message) => {
                tracing::warn!(command = %name, error = %message, "COMMAND_PROCESS_ERROR2");
                Answer::error(format!("{PROCESSING_ERROR_PREFIX}{message}"))
            }
        }
    }

    async fn dispatch(&self, command: Command) -> Result<Answer, String> {
        if command.command == LIST_COMMANDS {
            let names = self.names().into_iter().map(Value::String).collect();
            return Ok(Answer::success_with_arguments(Value::Array(names)));
        }
        let (handler, timeout) = {
            let handlers = self.read_handlers();
            match handlers.get(&command.command) {
                Some(entry) => (
                    Arc::clone(&entry.handler),
                    entry.timeout.or(self.default_timeout),
                ),
                None => return Ok(Answer::unsupported(&command.command)),
            }
        };
        let name = command.command.clone();
        // The handler runs in its own task: a panic (even one raised before its future is
        // built) unwinds that task only and comes back as a `JoinError`.
        // The guard aborts the task if this future is dropped (the server's drain gave up on the
        // connection) or times out, so no handler outlives the command it serves.
        let mut task = AbortOnDrop(tokio::spawn(async move { handler.handle(command).await }));
        let joined = match timeout {
            None => (&mut task.0).await,
            Some(limit) => match tokio::time::timeout(limit, &mut task.0).await {
                Ok(joined) => joined,
                Err(_elapsed) => {
                    return Err(format!(
                        "'{name}' command did not complete within {} ms",
                        limit.as_millis()
                    ));
                }
            },
        };
        match joined {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) => Err(err.to_string()),
            Err(join_error) if join_error.is_panic() => {
                let payload = join_error.into_panic();
                let detail = panic_message(payload.as_ref());
                tracing::error!(command = %name, panic = %detail, "command handler panicked");
                Err(format!(
                    "internal error in the '{name}' command handler: {detail}"
                ))
            }
            Err(_cancelled) => Err(format!("the '{name}' command handler was cancelled")),
        }
    }

    fn run_hooks(&self, name: &str, arguments: Option<&Value>, mut answer: Answer) -> Answer {
        // Clone the list so that a hook may (de)register hooks without deadlocking.
        let hooks: Vec<Arc<dyn CommandProcessedHook>> = self
            .read_hooks()
            .iter()
            .map(|(_, hook)| Arc::clone(hook))
            .collect();
        for hook in hooks {
            let mut candidate = answer.clone();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                hook.command_processed(name, arguments, &mut candidate);
            }));
            match outcome {
                Ok(()) => answer = candidate,
                Err(payload) => tracing::error!(
                    command = %name,
                    panic = %panic_message(payload.as_ref()),
                    "command_processed hook panicked; answer left unchanged"
                ),
            }
        }
        answer
    }

    fn read_handlers(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        // A poisoned lock only means a writer panicked between two map operations that each
        // leave the map consistent, so the data is still usable.
        self.handlers.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_hooks(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, Vec<(HookId, Arc<dyn CommandProcessedHook>)>> {
        self.hooks.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Aborts the handler task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<Result<Answer, HandlerError>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The text of a panic payload (`panic!("...")` gives `&str` or `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registry() -> CommandRegistry {
        let registry = CommandRegistry::new();
        registry
            .register("version-get", |_cmd: Command| async {
                Answer::success("2.2.0")
            })
            .unwrap();
        registry
            .register("echo", |cmd: Command| async move {
                Answer::success("").with_arguments(cmd.arguments.unwrap_or(Value::Null))
            })
            .unwrap();
        registry
            .register("fails", |_cmd: Command| async {
                Err::<Answer, _>("no lease database")
            })
            .unwrap();
        registry
    }

    #[tokio::test]
    async fn list_commands_is_sorted_without_text() {
        let answer = registry()
            .process(json!({"command": "list-commands"}))
            .await;
        assert_eq!(
            answer.to_value(),
            json!({"arguments": ["echo", "fails", "list-commands", "version-get"], "result": 0})
        );
    }

    #[tokio::test]
    async fn dispatches_and_answers_unknown_names() {
        let registry = registry();
        let answer = registry
            .process(json!({"command": "echo", "arguments": {"a": 1}, "service": ["dhcp4"]}))
            .await;
        assert_eq!(
            answer.to_value(),
            json!({"arguments": {"a": 1}, "result": 0})
        );
        let answer = registry.process(json!({"command": "foo"})).await;
        assert_eq!(
            answer.to_value(),
            json!({"result": 2, "text": "'foo' command not supported."})
        );
    }

    #[tokio::test]
    async fn invalid_commands_get_kea_texts() {
        let answer = registry().process(json!([1])).await;
        assert_eq!(
            answer.text.as_deref(),
            Some(
                "Error during command processing: Invalid command Element specified, expected map"
            )
        );
        assert_eq!(answer.result.code(), 1);
    }

    #[tokio::test]
    async fn handler_error_becomes_result_1() {
        let answer = registry().process(json!({"command": "fails"})).await;
        assert_eq!(
            answer.to_value(),
            json!({"result": 1, "text": "Error during command processing: no lease database"})
        );
    }

    #[tokio::test]
    async fn handler_panic_becomes_result_1() {
        let registry = CommandRegistry::new();
        #[allow(clippy::panic)]
        registry
            .register("boom", |_cmd: Command| async {
                if true {
                    panic!("kaboom");
                }
                Answer::success("unreachable")
            })
            .unwrap();
        let answer = registry.process(json!({"command": "boom"})).await;
        assert_eq!(answer.result.code(), 1);
        assert_eq!(
            answer.text.as_deref(),
            Some(
                "Error during command processing: internal error in the 'boom' command handler: kaboom"
            )
        );
        // The registry is still usable.
        assert!(
            registry
                .process(json!({"command": "list-commands"}))
                .await
                .is_success()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn per_command_timeout() {
        let registry = CommandRegistry::new();
        registry
            .register_with_timeout(
                "slow",
                |_cmd: Command| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Answer::success("late")
                },
                Duration::from_millis(1500),
            )
            .unwrap();
        let answer = registry.process(json!({"command": "slow"})).await;
        assert_eq!(
            answer.text.as_deref(),
            Some("Error during command processing: 'slow' command did not complete within 1500 ms")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn default_timeout_applies_when_none_given() {
        let registry = CommandRegistry::new().with_default_timeout(Duration::from_secs(2));
        registry
            .register("slow", |_cmd: Command| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Answer::success("late")
            })
            .unwrap();
        registry
            .register("quick", |_cmd: Command| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Answer::success("in time")
            })
            .unwrap();
        assert_eq!(
            registry
                .process(json!({"command": "slow"}))
                .await
                .result
                .code(),
            1
        );
        assert!(
            registry
                .process(json!({"command": "quick"}))
                .await
                .is_success()
        );
    }

    #[test]
    fn registration_rules_are_keas() {
        let registry = registry();
        assert_eq!(
            registry
                .register("echo", |_c: Command| async { Answer::success("") })
                .unwrap_err()
                .to_string(),
            "Handler for command 'echo' is already installed."
        );
        assert_eq!(
            registry.register("list-commands", |_c: Command| async { Answer::success("") }),
            Err(RegistryError::AlreadyRegistered("list-commands".to_owned()))
        );
        assert_eq!(
            registry
                .deregister("list-commands")
                .unwrap_err()
                .to_string(),
            "Can't uninstall internal command 'list-commands'"
        );
        assert_eq!(
            registry.deregister("nope").unwrap_err().to_string(),
            "Handler for command 'nope' not found."
        );
        assert!(registry.contains("echo"));
        registry.deregister("echo").unwrap();
        assert!(!registry.contains("echo"));
        assert!(registry.contains("list-commands"));
    }

    #[tokio::test]
    async fn processed_hook_extends_answers_and_can_be_removed() {
        let registry = CommandRegistry::new();
        registry
            .register("status-get", |_c: Command| async {
                Answer::success_with_arguments(json!({"pid": 1}))
            })
            .unwrap();
        let id = registry.add_processed_hook(
            |name: &str, _args: Option<&Value>, answer: &mut Answer| {
                if name == "status-get"
                    && let Some(Value::Object(map)) = answer.arguments.as_mut()
                {
                    map.insert("high-availability".to_owned(), json!([]));
                }
            },
        );
        #[allow(clippy::panic)]
        registry.add_processed_hook(|_n: &str, _a: Option<&Value>, answer: &mut Answer| {
            answer.text = Some("partially changed".to_owned());
            panic!("hook bug");
        });
        let answer = registry.process(json!({"command": "status-get"})).await;
        assert_eq!(
            answer.to_value(),
            json!({"arguments": {"pid": 1, "high-availability": []}, "result": 0})
        );
        assert!(registry.remove_processed_hook(id));
        assert!(!registry.remove_processed_hook(id));
        let answer = registry.process(json!({"command": "status-get"})).await;
        assert_eq!(
            answer.to_value(),
            json!({"arguments": {"pid": 1}, "result": 0})
        );
    }

    /// A handler implemented on a type, the one-file-per-command shape.
    struct Counter(Arc<AtomicU64>);

    impl CommandHandler for Counter {
        fn handle(&self, _command: Command) -> HandlerFuture {
            let count = Arc::clone(&self.0);
            Box::pin(async move {
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                Ok(Answer::success(format!("{n} calls")))
            })
        }
    }

    #[tokio::test]
    async fn typed_handlers_register_too() {
        let registry = CommandRegistry::new();
        registry
            .register("count", Counter(Arc::new(AtomicU64::new(0))))
            .unwrap();
        registry.process(json!({"command": "count"})).await;
        let answer = registry.process(json!({"command": "count"})).await;
        assert_eq!(answer.text.as_deref(), Some("2 calls"));
    }
}
