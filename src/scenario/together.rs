//! `[sweep] together`: swept keys that vary together, as one dimension of the product.
//!
//! `together = [["servers.0.count", "servers.0.speed"]]` zips the two keys' lists (like
//! Python's `zip`, or `numpy` broadcasting two 1-d arrays) instead of crossing them: four
//! servers at speed 1, then one at speed 4, never four at speed 4. That is how two settings
//! that only make sense in pairs (a fleet's size and its servers' speed, at a fixed total
//! capacity) are compared, crossed with the other swept keys as usual.
//!
//! A group names swept keys, at least two, each in at most one group, all with as many
//! values. Each key's values are already distinct (`sweep.rs`), so any one key's value
//! names the group's position: that is what lets `[[expect]]` `where` and `baseline` name
//! a single key of a group and mean the whole group.
//!
//! A group that is not valid is reported, and every swept key it names is rejected (like a
//! key with a bad range): crossing keys the author meant to zip would report errors, or a
//! variant count, about a sweep nobody wrote. A key named again after its first group
//! stays in that group: only the later group is wrong.

use toml::Spanned;
use toml::de::DeValue;

use super::suggest;
use super::sweep::SweepError;

/// The reserved key of `[sweep]` that links swept keys (no scenario key has this name, so
/// no sweep path starts with it).
pub const TOGETHER: &str = "together";

/// A swept key as `together` sees it.
pub struct Named<'a> {
    /// The dotted path as written in `[sweep]`.
    pub path: &'a str,
    /// How many values it takes.
    pub count: usize,
}

/// What `together` says, as indices into the swept keys it was read against.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Links {
    /// The valid groups, in the order written, each key in the order written.
    pub groups: Vec<Vec<usize>>,
    /// Swept keys named by a group that is not valid (none of them in a valid group), in
    /// key order.
    pub rejected: Vec<usize>,
    pub errors: Vec<SweepError>,
}

/// Reads `together` against the swept keys `keys` and the keys `[sweep]` declared but
/// already rejected (`rejected`, whose errors are reported: a group naming one is dropped
/// without another).
pub fn read(value: &Spanned<DeValue<'_>>, keys: &[Named<'_>], rejected: &[String]) -> Links {
    let mut links = Links::default();
    let path = format!("sweep.{TOGETHER}");
    let DeValue::Array(groups) = value.get_ref() else {
        links.error(
            value.span().start,
            path,
            format!(
                "expected an array of groups of swept keys that vary together, like \
                 [[\"servers.0.count\", \"servers.0.speed\"]], found {}",
                value.get_ref().type_str()
            ),
        );
        return links;
    };
    // The group each key is in so far, to refuse a key in two groups.
    let mut grouped: Vec<Option<usize>> = vec![None; keys.len()];
    for (index, group) in groups.iter().enumerate() {
        let group_path = format!("{path}[{index}]");
        let members = links.group(group, &group_path, keys, rejected, &mut grouped, index);
        match members {
            Ok(members) => links.groups.push(members),
            Err(named) => links.rejected.extend(named),
        }
    }
    links.rejected.sort_unstable();
    links
}

impl Links {
    fn error(&mut self, offset: usize, path: String, message: String) {
        self.errors.push(SweepError {
            offset,
            path,
            message,
        });
    }

    /// One group: its keys when valid, or (errors recorded) the swept keys it names.
    fn group(
        &mut self,
        group: &Spanned<DeValue<'_>>,
        group_path: &str,
        keys: &[Named<'_>],
        rejected: &[String],
        grouped: &mut [Option<usize>],
        index: usize,
    ) -> Result<Vec<usize>, Vec<usize>> {
        let DeValue::Array(entries) = group.get_ref() else {
            self.error(
                group.span().start,
                group_path.to_string(),
                format!(
                    "expected a group: an array of swept keys that vary together, like \
                     [\"servers.0.count\", \"servers.0.speed\"], found {}",
                    group.get_ref().type_str()
                ),
            );
            return Err(Vec::new());
        };
        let mut valid = true;
        if entries.len() < 2 {
            self.error(
                group.span().start,
                group_path.to_string(),
                format!(
                    "expected at least two swept keys that vary together, found {}",
                    entries.len()
                ),
            );
            valid = false;
        }
        let mut members: Vec<usize> = Vec::new();
        for (position, entry) in entries.iter().enumerate() {
            let entry_path = format!("{group_path}[{position}]");
            let offset = entry.span().start;
            let DeValue::String(name) = entry.get_ref() else {
                self.error(
                    offset,
                    entry_path,
                    format!(
                        "expected a swept key, as a string, found {}",
                        entry.get_ref().type_str()
                    ),
                );
                valid = false;
                continue;
            };
            let Some(key) = keys.iter().position(|k| k.path == name.as_ref()) else {
                if !rejected.iter().any(|r| r == name.as_ref()) {
                    let message = not_swept(name, keys);
                    self.error(offset, entry_path, message);
                }
                valid = false;
                continue;
            };
            if let Some(first) = grouped[key] {
                let message = if first == index {
                    format!("{name:?} is named twice in this group")
                } else {
                    format!(
                        "{name:?} already varies with the keys of together[{first}]: a key \
                         is in one group at most (merge the two groups to link them all)"
                    )
                };
                self.error(offset, entry_path, message);
                valid = false;
                continue;
            }
            grouped[key] = Some(index);
            if let Some(&leader) = members.first()
                && keys[leader].count != keys[key].count
            {
                self.error(
                    offset,
                    entry_path,
                    format!(
                        "{name:?} has {} but {:?} has {}: keys that vary together need \
                         as many values each",
                        values(keys[key].count),
                        keys[leader].path,
                        keys[leader].count
                    ),
                );
                valid = false;
            }
            members.push(key);
        }
        if valid { Ok(members) } else { Err(members) }
    }
}

/// `1 value`, `3 values`.
fn values(count: usize) -> String {
    if count == 1 {
        "1 value".to_string()
    } else {
        format!("{count} values")
    }
}

/// The message for a group entry that names no swept key.
fn not_swept(name: &str, keys: &[Named<'_>]) -> String {
    if keys.is_empty() {
        return format!("{name:?} is not swept: [sweep] has no key to link it with");
    }
    let paths: Vec<&str> = keys.iter().map(|k| k.path).collect();
    format!(
        "{name:?} is not swept, {}",
        suggest::expected_one_of(name, &paths)
    )
}

#[cfg(test)]
mod tests {
    use toml::de::DeTable;

    use super::*;

    /// Reads `together = <text>` against keys given as (path, value count).
    fn read_text(text: &str, keys: &[(&str, usize)], rejected: &[&str]) -> Links {
        let source = format!("{TOGETHER} = {text}\n");
        let document = DeTable::parse(&source).expect("valid TOML");
        let value = document.get_ref()[TOGETHER].clone();
        let keys: Vec<Named<'_>> = keys
            .iter()
            .map(|&(path, count)| Named { path, count })
            .collect();
        let rejected: Vec<String> = rejected.iter().map(|r| r.to_string()).collect();
        read(&value, &keys, &rejected)
    }

    fn messages(links: &Links) -> Vec<String> {
        links
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect()
    }

    const KEYS: &[(&str, usize)] = &[
        ("servers.0.count", 2),
        ("servers.0.speed", 2),
        ("workload.service.cv", 3),
        ("workload.rate", 2),
    ];

    #[test]
    fn groups_are_read_as_key_indices_in_the_order_written() {
        let links = read_text(
            "[[\"servers.0.speed\", \"workload.rate\", \"servers.0.count\"]]",
            KEYS,
            &[],
        );
        assert_eq!(messages(&links), Vec::<String>::new());
        assert_eq!(links.groups, [vec![1, 3, 0]]);
        assert!(links.rejected.is_empty());
        assert_eq!(read_text("[]", KEYS, &[]), Links::default());
    }

    #[test]
    fn an_unswept_key_is_named_with_the_closest_swept_one() {
        let links = read_text("[[\"servers.0.count\", \"servers.0.sped\"]]", KEYS, &[]);
        assert_eq!(
            messages(&links),
            [
                "sweep.together[0][1]: \"servers.0.sped\" is not swept, expected one of \
                 \"servers.0.count\", \"servers.0.speed\", \"workload.service.cv\", \
                 \"workload.rate\"; did you mean \"servers.0.speed\"?"
            ]
        );
        assert!(links.groups.is_empty());
        assert_eq!(links.rejected, [0], "the group's swept key is rejected");
        let none = read_text("[[\"a\", \"b\"]]", &[], &[]);
        assert!(messages(&none)[0].ends_with("[sweep] has no key to link it with"));
    }

    #[test]
    fn keys_with_different_value_counts_cannot_vary_together() {
        let links = read_text(
            "[[\"servers.0.count\", \"workload.service.cv\"]]",
            KEYS,
            &[],
        );
        assert_eq!(
            messages(&links),
            [
                "sweep.together[0][1]: \"workload.service.cv\" has 3 values but \
                 \"servers.0.count\" has 2: keys that vary together need as many values each"
            ]
        );
        assert_eq!(links.rejected, [0, 2]);
    }

    #[test]
    fn a_key_is_in_one_group_at_most() {
        let links = read_text(
            "[[\"servers.0.count\", \"servers.0.speed\"], [\"workload.rate\", \"servers.0.count\"]]",
            KEYS,
            &[],
        );
        assert_eq!(
            messages(&links),
            [
                "sweep.together[1][1]: \"servers.0.count\" already varies with the keys of \
                 together[0]: a key is in one group at most (merge the two groups to link \
                 them all)"
            ]
        );
        assert_eq!(links.rejected, [3], "only the bad group's own keys");
        assert_eq!(links.groups, [vec![0, 1]]);
        let twice = read_text("[[\"workload.rate\", \"workload.rate\"]]", KEYS, &[]);
        assert_eq!(
            messages(&twice),
            ["sweep.together[0][1]: \"workload.rate\" is named twice in this group"]
        );
    }

    #[test]
    fn a_rejected_key_drops_its_group_without_another_error() {
        let links = read_text(
            "[[\"servers.0.count\", \"workload.clients\"]]",
            KEYS,
            &["workload.clients"],
        );
        assert_eq!(links.errors, []);
        assert!(links.groups.is_empty());
        assert_eq!(links.rejected, [0]);
    }

    #[test]
    fn shapes_are_checked() {
        let cases = [
            (
                "\"servers.0.count\"",
                "sweep.together: expected an array of groups of swept keys that vary \
                 together, like [[\"servers.0.count\", \"servers.0.speed\"]], found string",
            ),
            (
                "[\"servers.0.count\", \"servers.0.speed\"]",
                "sweep.together[0]: expected a group: an array of swept keys that vary \
                 together, like [\"servers.0.count\", \"servers.0.speed\"], found string",
            ),
            (
                "[[\"servers.0.count\"]]",
                "sweep.together[0]: expected at least two swept keys that vary together, \
                 found 1",
            ),
            (
                "[[\"servers.0.count\", 2]]",
                "sweep.together[0][1]: expected a swept key, as a string, found integer",
            ),
        ];
        for (text, message) in cases {
            let links = read_text(text, KEYS, &[]);
            assert_eq!(messages(&links).first().map(String::as_str), Some(message));
            assert!(links.groups.is_empty());
        }
    }
}
