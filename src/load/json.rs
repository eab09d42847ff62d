//! Load, second half: the YAML tree → its JSON form and the index of where
//! every node is, in one pass that consumes the tree.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Key, Node, NodeValue, Place, escape_pointer};
use crate::diag::Span;

/// Where every node of a document is, by JSON pointer: sorted by the
/// pointer's hash and searched by it. A hash (8 bytes) in place of the
/// pointer's text keeps the index small on large documents (see
/// [`MAX_NODES`](super::MAX_NODES)); two pointers of one document sharing a 64-bit hash is
/// vanishingly unlikely, and would only misplace a diagnostic.
#[derive(Debug, Default)]
pub(crate) struct PlaceIndex(Vec<(u64, Place)>);

impl PlaceIndex {
    fn hash(pointer: &str) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        // `DefaultHasher::new` has fixed keys: the same hash in every run.
        let mut h = std::hash::DefaultHasher::new();
        pointer.hash(&mut h);
        h.finish()
    }

    pub(super) fn get(&self, pointer: &str) -> Option<&Place> {
        let h = Self::hash(pointer);
        self.0
            .binary_search_by_key(&h, |(k, _)| *k)
            .ok()
            .map(|i| &self.0[i].1)
    }
}

/// A container being converted: its remaining children (moved out of the
/// tree as they are converted), what is built so far, and how long the
/// pointer was at the container.
enum JsonFrame {
    Seq {
        items: std::vec::IntoIter<Node>,
        out: Vec<Value>,
        ptr_len: usize,
    },
    Map {
        entries: std::vec::IntoIter<(Key, Node)>,
        out: serde_json::Map<String, Value>,
        /// The key of the child being converted.
        key: String,
        ptr_len: usize,
    },
}

/// What converting the tree yields besides the JSON.
#[derive(Default)]
pub(super) struct Converted {
    pub(super) index: PlaceIndex,
    /// Allow-comment line → pointers of the nodes whose key (or list item)
    /// starts on it.
    pub(super) scopes: HashMap<u32, Vec<String>>,
}

/// Converts the tree to JSON, consuming it (strings move, never copied),
/// and records the place of every node and the nodes on the lines allow
/// comments apply to. Depth first
/// with one frame per open container (at most [`MAX_DEPTH`](super::MAX_DEPTH)) and one pointer
/// string that grows and shrinks: nothing proportional to a large list is
/// held besides the output and the index.
pub(super) fn to_json(root: Node, nodes: usize, allow_lines: &HashSet<u32>) -> (Value, Converted) {
    use std::fmt::Write as _;
    let mut got = Converted {
        index: PlaceIndex(Vec::with_capacity(nodes)),
        ..Converted::default()
    };
    let mut ptr = String::new();
    let mut stack: Vec<JsonFrame> = Vec::new();
    let mut done = open(root, &ptr, None, allow_lines, &mut got, &mut stack);
    loop {
        // A finished value goes to its container, or is the document.
        if let Some(v) = done.take() {
            match stack.last_mut() {
                None => {
                    got.index.0.sort_unstable_by_key(|(k, _)| *k);
                    return (v, got);
                }
                Some(JsonFrame::Seq { out, .. }) => out.push(v),
                Some(JsonFrame::Map { out, key, .. }) => {
                    out.insert(std::mem::take(key), v);
                }
            }
        }
        let next = match stack.last_mut() {
            Some(JsonFrame::Seq {
                items,
                out,
                ptr_len,
            }) => {
                ptr.truncate(*ptr_len);
                items.next().map(|n| {
                    write!(ptr, "/{}", out.len()).ok();
                    (n, None)
                })
            }
            Some(JsonFrame::Map {
                entries,
                key,
                ptr_len,
                ..
            }) => {
                ptr.truncate(*ptr_len);
                entries.next().map(|(k, n)| {
                    ptr.push('/');
                    ptr.push_str(&escape_pointer(&k.name));
                    *key = k.name;
                    (n, Some(k.span))
                })
            }
            None => return (Value::Null, got),
        };
        match next {
            Some((node, key)) => done = open(node, &ptr, key, allow_lines, &mut got, &mut stack),
            None => {
                done = stack.pop().map(|frame| match frame {
                    JsonFrame::Seq { out, ptr_len, .. } => {
                        ptr.truncate(ptr_len);
                        Value::Array(out)
                    }
                    JsonFrame::Map { out, ptr_len, .. } => {
                        ptr.truncate(ptr_len);
                        Value::Object(out)
                    }
                });
            }
        }
    }
}

/// Records what is known of `node` at `ptr`; a scalar's JSON value, or
/// `None` with a frame opened for a container.
fn open(
    node: Node,
    ptr: &str,
    key: Option<Span>,
    allow_lines: &HashSet<u32>,
    got: &mut Converted,
    stack: &mut Vec<JsonFrame>,
) -> Option<Value> {
    let place = Place {
        key,
        value: node.span,
    };
    got.index.0.push((PlaceIndex::hash(ptr), place));
    let line = place.key.unwrap_or(place.value).start.line;
    if !ptr.is_empty() && allow_lines.contains(&line) {
        got.scopes.entry(line).or_default().push(ptr.to_string());
    }
    Some(match node.value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(b) => Value::Bool(b),
        NodeValue::Int(i) => Value::from(i),
        NodeValue::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        NodeValue::Str(s) => Value::String(s),
        NodeValue::Seq(items) => {
            stack.push(JsonFrame::Seq {
                out: Vec::with_capacity(items.len()),
                items: items.into_iter(),
                ptr_len: ptr.len(),
            });
            return None;
        }
        NodeValue::Map(entries) => {
            stack.push(JsonFrame::Map {
                out: serde_json::Map::with_capacity(entries.len()),
                entries: entries.into_iter(),
                key: String::new(),
                ptr_len: ptr.len(),
            });
            return None;
        }
    })
}
