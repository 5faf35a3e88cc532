//! Fuzz target: Kea's JSON dialect (comments, `<?include?>`, trailing commas) and the whole
//! validation of a `Dhcp4` and a `Control-agent` document, on arbitrary text. Nothing may
//! panic; a rejected document reports at least one error, and every error and warning can be
//! displayed.
//!
//! Inputs that name an include path with a `/` are skipped: an absolute or parent path could
//! make the fuzzer read any regular file of the machine (a multi-terabyte `/proc/kcore`
//! included). Relative includes still run, against the fuzz directory's own small files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if text.contains("include") && text.contains('/') {
        return;
    }
    match nestor_config::parse_dhcp4_str(&text, "fuzz.json") {
        Ok(loaded) => {
            for w in &loaded.warnings {
                let _ = w.to_string();
            }
        }
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "rejected without an error");
            let _ = errors.to_string();
            for e in &errors.errors {
                let _ = e.message();
            }
        }
    }
    match nestor_config::parse_agent_str(&text, "fuzz.json") {
        Ok(loaded) => loaded.warnings.iter().for_each(|w| drop(w.to_string())),
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "rejected without an error");
            let _ = errors.to_string();
        }
    }
});
