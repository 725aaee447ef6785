//! The module graph of `src/` has no cycles: at every level of the tree, the modules
//! under one parent import each other one way only (`http` → `scim` → `domain` →
//! `store` → `schema` → leaves). The check reads the `crate::` and `super::` paths
//! of every file, outside its unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type ModulePath = Vec<String>;
type Graph = BTreeMap<ModulePath, BTreeSet<ModulePath>>;
/// For each edge, the modules whose code makes it.
type Witnesses = BTreeMap<(ModulePath, ModulePath), BTreeSet<String>>;

/// Every module of the crate, by path (`["store", "users"]`), with its source.
fn modules() -> BTreeMap<ModulePath, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<ModulePath, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("src/ is readable")
            .map(|entry| entry.expect("src/ is readable").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("file names are text")
                .to_owned();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(name);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let mut module = prefix.to_vec();
                if !matches!(name.as_str(), "mod" | "lib") {
                    module.push(name);
                }
                if module.first().is_some_and(|first| first == "main") {
                    continue;
                }
                let source = std::fs::read_to_string(&path).expect("source is readable");
                out.insert(module, source);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn production_code(source: &str) -> String {
    let code = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module paths a file's code names, from `crate::a::b` and `super::x`
/// (including `use crate::a::{b, c}` lists).
fn referenced_paths(module: &[String], code: &str) -> Vec<ModulePath> {
    let mut found = Vec::new();
    for (anchor, base) in [
        ("crate::", Vec::new()),
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = code;
        while let Some(at) = rest.find(anchor) {
            let preceded_by_ident = rest[..at].chars().next_back().is_some_and(is_ident_char);
            rest = &rest[at + anchor.len()..];
            if preceded_by_ident {
                continue;
            }
            let mut path = base.clone();
            let mut tail = rest;
            loop {
                let ident: String = tail.chars().take_while(|&c| is_ident_char(c)).collect();
                if ident.is_empty() {
                    break;
                }
                tail = &tail[ident.len()..];
                path.push(ident);
                match tail.strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            if let Some(list) = tail.strip_prefix('{') {
                let list = &list[..list.find('}').unwrap_or(list.len())];
                for item in list.split(',') {
                    let ident: String = item
                        .trim()
                        .chars()
                        .take_while(|&c| is_ident_char(c))
                        .collect();
                    let mut item_path = path.clone();
                    item_path.push(ident);
                    found.push(item_path);
                }
            }
            found.push(path);
        }
    }
    found
}

/// For an edge from `from` to `to`, the two sibling modules it joins (children of
/// their deepest common ancestor), or `None` when one contains the other.
fn sibling_edge(from: &[String], to: &[String]) -> Option<(ModulePath, ModulePath)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common >= from.len() || common >= to.len() {
        return None;
    }
    Some((from[..=common].to_vec(), to[..=common].to_vec()))
}

/// A cycle of `graph`, if it has one.
fn find_cycle(graph: &Graph) -> Option<Vec<ModulePath>> {
    fn visit(
        node: &ModulePath,
        graph: &Graph,
        done: &mut BTreeSet<ModulePath>,
        stack: &mut Vec<ModulePath>,
    ) -> Option<Vec<ModulePath>> {
        if let Some(at) = stack.iter().position(|on| on == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if !done.insert(node.clone()) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

/// The sibling-to-sibling imports of the crate, with the files that make them.
fn sibling_graph() -> (Graph, Witnesses) {
    let modules = modules();
    let mut graph = Graph::new();
    let mut witnesses = Witnesses::new();
    for (module, source) in &modules {
        for path in referenced_paths(module, &production_code(source)) {
            // The longest prefix of the path that names a module.
            let Some(target) = (1..=path.len())
                .rev()
                .map(|len| path[..len].to_vec())
                .find(|prefix| modules.contains_key(prefix))
            else {
                continue;
            };
            if let Some((from, to)) = sibling_edge(module, &target) {
                graph.entry(from.clone()).or_default().insert(to.clone());
                witnesses
                    .entry((from, to))
                    .or_default()
                    .insert(module.join("::"));
            }
        }
    }
    (graph, witnesses)
}

#[test]
fn the_module_graph_has_no_cycles() {
    let (graph, witnesses) = sibling_graph();
    let store_users = vec!["store".to_owned(), "users".to_owned()];
    assert!(
        graph[&store_users].contains(&vec!["store".to_owned(), "query".to_owned()]),
        "the check finds the crate's imports"
    );
    if let Some(cycle) = find_cycle(&graph) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|pair| {
                format!(
                    "{} -> {} (in {:?})",
                    pair[0].join("::"),
                    pair[1].join("::"),
                    witnesses[&(pair[0].clone(), pair[1].clone())]
                )
            })
            .collect();
        panic!("module cycle:\n  {}", steps.join("\n  "));
    }
}

#[test]
fn the_filter_grammar_imports_nothing_of_roster() {
    let (graph, _) = sibling_graph();
    let filter = vec!["filter".to_owned()];
    assert_eq!(
        graph.get(&filter),
        None,
        "filter imports {:?}",
        graph.get(&filter)
    );
}

#[test]
fn the_layers_point_down() {
    let (graph, _) = sibling_graph();
    let layer = |name: &str| vec![name.to_owned()];
    let order = ["http", "scim", "domain", "store", "schema", "filter"];
    for (upper, lower) in order
        .iter()
        .enumerate()
        .flat_map(|(at, upper)| order[at + 1..].iter().map(move |lower| (*upper, *lower)))
    {
        assert!(
            !graph
                .get(&layer(lower))
                .is_some_and(|targets| targets.contains(&layer(upper))),
            "{lower} imports {upper}, a layer above it"
        );
    }
}

#[test]
fn the_check_sees_a_cycle_and_paths_in_braces() {
    let module = vec!["store".to_owned(), "users".to_owned()];
    let paths = referenced_paths(
        &module,
        "use super::{query::SqlBuilder, Conn};\nlet x = crate::schema::resolve(y);",
    );
    assert!(paths.contains(&vec!["store".to_owned(), "query".to_owned()]));
    assert!(paths.contains(&vec!["schema".to_owned(), "resolve".to_owned()]));
    let mut graph = BTreeMap::new();
    let (a, b) = (vec!["a".to_owned()], vec!["b".to_owned()]);
    graph.insert(a.clone(), BTreeSet::from([b.clone()]));
    graph.insert(b.clone(), BTreeSet::from([a.clone()]));
    assert!(find_cycle(&graph).is_some());
    graph.remove(&b);
    assert!(find_cycle(&graph).is_none());
}
