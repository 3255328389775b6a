//! The runtime's modules depend on each other one way: no two modules (at any depth, files
//! or directories) import each other, directly or around a cycle, and the system host
//! does not import the kernel or the simulation built above it.
//!
//! A module's imports are the `crate::…` and `super::…` paths in its code (comments
//! aside), attributes such as `#[serde(with = "crate::…")]` included.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A module path, e.g. `["kernel", "dock"]`; the crate root is empty.
type Module = Vec<String>;

/// Where a module refers to another: the referring module, the file's line.
#[derive(Debug, Clone)]
struct Reference {
    from: Module,
    to: Module,
    file: String,
    line: usize,
}

fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, (String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("the source directory is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut inner = prefix.clone();
            inner.push(name);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let mut module = prefix.clone();
            if name != "mod" && name != "lib" {
                module.push(name);
            }
            let text = fs::read_to_string(&path).expect("a source file is readable");
            out.insert(module, (path.display().to_string(), text));
        }
    }
}

/// The longest known module that `path` (segments after `crate::`) names or is inside.
fn resolve(known: &BTreeMap<Module, (String, String)>, path: &[String]) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|candidate| known.contains_key(candidate))
}

/// The identifier segments of a path starting at `rest` (after `crate::` or `super::`).
fn segments(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut tail = rest;
    loop {
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if end == 0 {
            break;
        }
        out.push(tail[..end].to_owned());
        match tail[end..].strip_prefix("::") {
            Some(next) => tail = next,
            None => break,
        }
    }
    out
}

fn references(known: &BTreeMap<Module, (String, String)>) -> Vec<Reference> {
    let mut out = Vec::new();
    for (module, (file, text)) in known {
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (keyword, base) in [("crate::", Vec::new()), ("super::", parent(module))] {
                let mut from = 0;
                while let Some(at) = code[from..].find(keyword) {
                    let start = from + at;
                    from = start + keyword.len();
                    let before = code[..start].chars().next_back();
                    if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                        continue;
                    }
                    let mut path = base.clone();
                    path.extend(segments(&code[from..]));
                    if let Some(to) = resolve(known, &path) {
                        if &to != module {
                            out.push(Reference {
                                from: module.clone(),
                                to,
                                file: file.clone(),
                                line: number + 1,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

fn parent(module: &Module) -> Module {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// Under their deepest common parent, the two children that hold `a` and `b`; `None`
/// when one holds the other (a module using its parent's items or its own children's).
fn siblings(a: &Module, b: &Module) -> Option<(Module, Module)> {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common == a.len() || common == b.len() {
        return None;
    }
    Some((a[..=common].to_vec(), b[..=common].to_vec()))
}

/// Every cycle among sibling modules, each as its members.
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<BTreeSet<Module>> {
    // A module is on a cycle with every module it reaches that reaches it back.
    let reach = |start: &Module| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(next) = stack.pop() {
            for to in edges.get(&next).into_iter().flatten() {
                if seen.insert(to.clone()) {
                    stack.push(to.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&Module, BTreeSet<Module>> =
        edges.keys().map(|module| (module, reach(module))).collect();
    let mut found: Vec<BTreeSet<Module>> = Vec::new();
    for (module, reached) in &reaches {
        if !reached.contains(*module) {
            continue;
        }
        let cycle: BTreeSet<Module> = reached
            .iter()
            .filter(|other| {
                reaches
                    .get(other)
                    .is_some_and(|back| back.contains(*module))
            })
            .cloned()
            .collect();
        if !found.contains(&cycle) {
            found.push(cycle);
        }
    }
    found
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

fn source() -> (BTreeMap<Module, (String, String)>, Vec<Reference>) {
    let mut known = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &Vec::new(),
        &mut known,
    );
    let references = references(&known);
    (known, references)
}

#[test]
fn no_two_modules_import_each_other_around_a_cycle() {
    let (known, references) = source();
    assert!(known.len() > 50, "found only {} modules", known.len());
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    let mut witness: BTreeMap<(Module, Module), &Reference> = BTreeMap::new();
    for reference in &references {
        if let Some((a, b)) = siblings(&reference.from, &reference.to) {
            edges.entry(a.clone()).or_default().insert(b.clone());
            witness.entry((a, b)).or_insert(reference);
        }
    }
    let report: Vec<String> = cycles(&edges)
        .into_iter()
        .map(|cycle| {
            let mut lines = vec![format!(
                "cycle: {}",
                cycle.iter().map(name).collect::<Vec<_>>().join(", ")
            )];
            for ((a, b), reference) in &witness {
                if cycle.contains(a) && cycle.contains(b) {
                    lines.push(format!(
                        "  {} -> {} ({}:{})",
                        name(a),
                        name(b),
                        reference.file,
                        reference.line
                    ));
                }
            }
            lines.join("\n")
        })
        .collect();
    assert!(report.is_empty(), "\n{}", report.join("\n"));
}

#[test]
fn the_system_host_imports_neither_the_kernel_nor_the_simulation() {
    let (_, references) = source();
    let upward: Vec<String> = references
        .iter()
        .filter(|r| r.from.first().is_some_and(|m| m == "system"))
        .filter(|r| {
            r.to.first()
                .is_some_and(|m| ["kernel", "simulation", "systems"].contains(&m.as_str()))
        })
        .map(|r| {
            format!(
                "{} -> {} ({}:{})",
                name(&r.from),
                name(&r.to),
                r.file,
                r.line
            )
        })
        .collect();
    assert!(upward.is_empty(), "\n{}", upward.join("\n"));
}

#[test]
fn the_checker_sees_an_import_and_a_cycle() {
    let (_, references) = source();
    assert!(references
        .iter()
        .any(|r| name(&r.from) == "kernel::dock" && name(&r.to) == "system"));
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(cycles(&edges), vec![BTreeSet::from([a, b])]);
}
