//! Fuzzes scenario parsing and validation: any UTF-8 text must give a scenario or a list of
//! located errors, never a panic (nor a hang, with `-timeout`).

#![no_main]

use std::path::Path;

use lbsim::scenario::Scenario;
use libfuzzer_sys::fuzz_target;

const FILE: &str = "fuzz.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = Scenario::from_source(text, Path::new(FILE)) {
        assert!(!errors.0.is_empty(), "an empty error list");
        let lines = text.split('\n').count();
        for error in &errors.0 {
            let shown = error.to_string();
            assert!(shown.starts_with(FILE), "{shown:?}");
            if let Some((line, col)) = error.position {
                assert!(
                    shown.starts_with(&format!("{FILE}:{line}:{col}: ")),
                    "{shown:?}"
                );
                assert!(
                    (1..=lines).contains(&line),
                    "line {line} of {lines}: {shown:?}"
                );
                let width = text
                    .split('\n')
                    .nth(line - 1)
                    .map_or(0, |l| l.chars().count());
                assert!(
                    (1..=width + 1).contains(&col),
                    "column {col} of {width}: {shown:?}"
                );
            } else {
                assert!(shown.starts_with(&format!("{FILE}: ")), "{shown:?}");
            }
        }
    }
});
