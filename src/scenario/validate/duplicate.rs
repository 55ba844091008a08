//! The key path of a duplicated key. TOML's parser reports `duplicate key` at the second
//! occurrence without naming it; this names it as every other error does, from the key
//! at that spot and the table headers above it (`[[servers]]` counted, so the second
//! group is `servers[1]`).

/// `servers[1].count` for a duplicated `count` under the second `[[servers]]`; the table's
/// own name for a duplicated `[table]` header.
pub(super) fn key_path_at(source: &str, offset: usize) -> String {
    let offset = source.floor_char_boundary(offset.min(source.len()));
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let key: String = source[offset..]
        .chars()
        .take_while(|c| !matches!(c, '=' | '\n' | ']' | ',' | '}'))
        .collect();
    let key = key.trim();
    let on_header = source[line_start..].trim_start().starts_with('[');
    if on_header {
        return key.to_string();
    }
    let mut header: Option<String> = None;
    let mut groups: Vec<(String, usize)> = Vec::new();
    for line in source[..line_start].lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let index = match groups.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => {
                    *count += 1;
                    *count - 1
                }
                None => {
                    groups.push((name.clone(), 1));
                    0
                }
            };
            header = Some(format!("{name}[{index}]"));
        } else if let Some(name) = line.strip_prefix('[').and_then(|r| r.split(']').next()) {
            header = Some(name.trim().to_string());
        }
    }
    match header {
        Some(header) => format!("{header}.{key}"),
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(source: &str, marker: &str) -> String {
        key_path_at(source, source.rfind(marker).expect("marker"))
    }

    #[test]
    fn a_duplicated_key_is_named_with_its_table() {
        assert_eq!(at("a = 1\na = 2\n", "a ="), "a");
        let groups = "[[servers]]\ncount = 1\n[[servers]]\ncount = 2\ncount = 3\n";
        assert_eq!(at(groups, "count = 3"), "servers[1].count");
        let sweep = "[sweep]\n\"workload.rate\" = [1]\n\"workload.rate\" = [2]\n";
        assert_eq!(
            at(sweep, "\"workload.rate\" = [2]"),
            "sweep.\"workload.rate\""
        );
        let table = "[balancer]\nalgorithm = \"random\"\n# [x]\n[balancer]\n";
        assert_eq!(at(table, "balancer]\n"), "balancer");
    }
}
