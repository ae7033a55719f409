//! One loaded configuration: every route compiled, with the scripts,
//! templates and tables it uses. Built completely (and checked) before it
//! serves; immutable after.

use super::delivery::policy::{DeliveryPolicy, PolicySpec};
use crate::config::{load_route_files, Diagnostic, Diagnostics, EndpointSpec, RouteSpec, SourceSpec};
use crate::destinations::Endpoint;
use crate::mappings::Mappings;
use crate::resources::Resources;
use crate::scripting::Scripting;
use crate::settings::Settings;
use crate::sources::file::FileSourceConfig;
use crate::sources::http::{self, HttpSourceConfig};
use crate::sources::mllp::{MessagePattern, MllpService, MllpSourceConfig};
use crate::sources::soap::{SoapService, SoapSourceConfig};
use crate::sources::timer::Schedule;
use crate::sources::Listen;
use crate::steps::reply::ReplyStep;
use crate::steps::{BuildContext, Step, StepSpec};
use crate::value::{Map, Value};
use axum::http::Method;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Snapshot {
    pub settings: Arc<Settings>,
    pub resources: Resources,
    /// In the order the files were read.
    pub routes: Vec<Arc<Route>>,
    by_id: HashMap<String, Arc<Route>>,
    http: HashMap<(SocketAddr, Method, String), Arc<Route>>,
    /// Per listener, the paths with `{name}` segments, each naming itself:
    /// the key it has in `http`.
    http_patterns: HashMap<SocketAddr, matchit::Router<String>>,
    /// SOAP services by listener and path.
    soap: HashMap<(SocketAddr, String), Arc<SoapService>>,
    /// MLLP listeners' route tables.
    mllp: HashMap<SocketAddr, Arc<MllpService>>,
    /// What each route was built from, by id: a reload keeps a route whose
    /// inputs are unchanged (the very same `Arc`, so its timer runs on).
    inputs: HashMap<String, RouteInputs>,
    /// Each route's file as it was read for this snapshot, for the admin API.
    texts: HashMap<String, Arc<str>>,
}

/// Everything a compiled route depends on besides the snapshot-wide
/// settings: equal inputs build an equal route.
#[derive(PartialEq)]
struct RouteInputs {
    file: PathBuf,
    spec: RouteSpec,
    /// Scripts and templates the steps name, with their text (None: unreadable).
    referenced: Vec<(PathBuf, Option<String>)>,
    /// Every mapping file, for routes whose steps can reach tables (map
    /// steps, and scripts and expressions through `lookup`).
    tables: Option<Arc<TableFiles>>,
}

type TableFiles = BTreeMap<PathBuf, Vec<u8>>;

/// Added, changed, removed and unchanged routes between two snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RouteChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

pub struct Route {
    pub id: String,
    pub file: PathBuf,
    pub spec: RouteSpec,
    pub source: Source,
    pub steps: Vec<(&'static str, Step)>,
    pub destinations: Vec<Destination>,
    pub reply: Option<ReplyStep>,
    pub error_reply: Option<ReplyStep>,
}

pub enum Source {
    Http {
        addr: SocketAddr,
        method: Method,
        config: HttpSourceConfig,
    },
    Timer {
        schedule: Schedule,
        body: String,
    },
    Soap {
        addr: SocketAddr,
        config: SoapSourceConfig,
    },
    Mllp {
        addr: SocketAddr,
        config: MllpSourceConfig,
        options: medbus_adapters::hl7::ParseOptions,
        patterns: Vec<MessagePattern>,
        /// For the ACKs' MSH-7.
        timezone: chrono_tz::Tz,
    },
    File {
        /// `config.dir`, resolved against the data dir.
        dir: PathBuf,
        config: FileSourceConfig,
        pattern: glob::Pattern,
    },
}

pub struct Destination {
    pub name: String,
    pub endpoint: Endpoint,
    pub policy: DeliveryPolicy,
}

impl Snapshot {
    /// Loads and checks the whole configuration; every error is returned,
    /// sorted by file and position.
    pub fn load(settings: Arc<Settings>) -> Result<Snapshot, Vec<Diagnostic>> {
        Snapshot::load_reusing(settings, None)
    }

    /// As `load`, checking everything anew, but keeping every route of
    /// `previous` whose inputs did not change (same `Arc<Route>`).
    pub fn load_reusing(settings: Arc<Settings>, previous: Option<&Snapshot>) -> Result<Snapshot, Vec<Diagnostic>> {
        let databases = previous.map(|old| old.resources.databases.clone()).unwrap_or_default();
        let previous = previous.filter(|old| same_route_settings(&old.settings, &settings));
        let mut diagnostics = Diagnostics::default();
        // Inputs are read before what is built from them: a file changed in
        // between makes the route differ at the next reload, never look the same.
        let table_files = Arc::new(read_table_files(&settings.mappings_dir));
        let (mappings, errors) = Mappings::load(&settings.mappings_dir);
        diagnostics.items.extend(errors);
        let mappings = Arc::new(mappings);
        let scripting = Arc::new(Scripting::new(settings.timezone, mappings.clone()));
        let resources = Resources {
            settings: settings.clone(),
            mappings,
            scripting,
            databases,
        };
        let (files, errors) = load_route_files(&settings.routes_dir);
        diagnostics.items.extend(errors);

        let known_ids: std::collections::HashSet<String> = files.iter().map(|f| f.route.id.value.clone()).collect();
        let mut routes = Vec::new();
        let mut by_id: HashMap<String, Arc<Route>> = HashMap::new();
        let mut http: HashMap<(SocketAddr, Method, String), Arc<Route>> = HashMap::new();
        let mut http_patterns: HashMap<SocketAddr, matchit::Router<String>> = HashMap::new();
        let mut soap: HashMap<(SocketAddr, String), SoapService> = HashMap::new();
        let mut mllp: HashMap<SocketAddr, MllpService> = HashMap::new();
        let mut inputs: HashMap<String, RouteInputs> = HashMap::new();
        let mut texts: HashMap<String, Arc<str>> = HashMap::new();
        for file in files {
            let route_inputs = RouteInputs::of(&file.path, &file.route, &settings, &table_files);
            let text: Arc<str> = std::fs::read_to_string(&file.path).unwrap_or_default().into();
            let Some(route) = build_route(file.path, file.route, &resources, &known_ids, &mut diagnostics) else {
                continue;
            };
            let route = match previous.and_then(|old| old.reusable(&route.id, &route_inputs)) {
                Some(unchanged) => unchanged.clone(),
                None => Arc::new(route),
            };
            if let Some(first) = by_id.get(&route.id) {
                diagnostics.error(
                    &route.file,
                    route.spec.id.at,
                    format!(
                        "route id `{}` is already used by {}; expected ids unique across all routes",
                        route.id,
                        first.file.display()
                    ),
                );
                continue;
            }
            if let Some(addr) = route.source.listener_addr() {
                let taken_by_other_kind = match &route.source {
                    Source::Mllp { .. } => {
                        http.keys().any(|(a, _, _)| *a == addr) || soap.keys().any(|(a, _)| *a == addr)
                    }
                    _ => mllp.contains_key(&addr),
                };
                if taken_by_other_kind {
                    diagnostics.error(
                        &route.file,
                        route.spec.source.at,
                        format!("{addr} serves MLLP and HTTP routes; expected one protocol per listener address"),
                    );
                    continue;
                }
            }
            if let Source::Mllp { addr, .. } = &route.source {
                if let Err(e) = mllp.entry(*addr).or_default().add(&route) {
                    diagnostics.error(&route.file, route.spec.source.at, e);
                    continue;
                }
            }
            if let Source::Http { addr, method, config } = &route.source {
                let key = (*addr, method.clone(), config.path.clone());
                if let Some(first) = http.get(&key) {
                    diagnostics.error(
                        &route.file,
                        route.spec.source.at,
                        format!(
                            "{method} {} on {addr} is already served by route `{}` ({}); expected one route per listener, method and path",
                            config.path,
                            first.id,
                            first.file.display()
                        ),
                    );
                    continue;
                }
                if let Some(service) = soap.get(&(*addr, config.path.clone())) {
                    diagnostics.error(
                        &route.file,
                        route.spec.source.at,
                        format!(
                            "{} on {addr} is SOAP service `{}`; expected another path for an http route",
                            config.path, service.name
                        ),
                    );
                    continue;
                }
                let new_pattern = config.is_pattern() && !http.keys().any(|(a, _, p)| a == addr && *p == config.path);
                if new_pattern {
                    let patterns = http_patterns.entry(*addr).or_default();
                    if let Err(e) = patterns.insert(config.path.clone(), config.path.clone()) {
                        let other = match &e {
                            matchit::InsertError::Conflict { with } => http
                                .iter()
                                .find(|((a, _, p), _)| a == addr && p == with)
                                .map(|(_, r)| format!(" of route `{}` ({})", r.id, r.file.display()))
                                .unwrap_or_default(),
                            _ => String::new(),
                        };
                        diagnostics.error(
                            &route.file,
                            route.spec.source.at,
                            format!(
                                "path `{}` on {addr} cannot be told apart from another path{other}: {e}; expected \
                                 patterns that differ in a fixed segment, or the same parameter names",
                                config.path
                            ),
                        );
                        continue;
                    }
                }
                http.insert(key, route.clone());
            }
            if let Source::Soap { addr, config } = &route.source {
                if let Some(((_, method, _), first)) = http.iter().find(|((a, _, p), _)| a == addr && *p == config.path)
                {
                    diagnostics.error(
                        &route.file,
                        route.spec.source.at,
                        format!(
                            "{} on {addr} is already served by http route `{}` ({method}, {}); expected a path of its own for SOAP service `{}`",
                            config.path,
                            first.id,
                            first.file.display(),
                            config.service
                        ),
                    );
                    continue;
                }
                let service = soap
                    .entry((*addr, config.path.clone()))
                    .or_insert_with(|| SoapService::new(config));
                if let Err(e) = service.add(&route) {
                    diagnostics.error(&route.file, route.spec.source.at, e);
                    continue;
                }
            }
            by_id.insert(route.id.clone(), route.clone());
            inputs.entry(route.id.clone()).or_insert(route_inputs);
            texts.insert(route.id.clone(), text);
            routes.push(route);
        }
        for service in soap.values() {
            if let Err((route, e)) = service.validate() {
                diagnostics.error(&route.file, route.spec.source.at, e);
            }
        }
        if !diagnostics.is_empty() {
            return Err(diagnostics.sorted());
        }
        let soap = soap
            .into_iter()
            .map(|(key, service)| (key, Arc::new(service)))
            .collect();
        let mllp = mllp
            .into_iter()
            .map(|(addr, service)| (addr, Arc::new(service)))
            .collect();
        Ok(Snapshot {
            settings,
            resources,
            routes,
            by_id,
            http,
            http_patterns,
            soap,
            mllp,
            inputs,
            texts,
        })
    }

    /// The running route `id` when it was built from the same inputs.
    fn reusable(&self, id: &str, inputs: &RouteInputs) -> Option<&Arc<Route>> {
        let route = self.by_id.get(id)?;
        (self.inputs.get(id) == Some(inputs)).then_some(route)
    }

    /// What changed from `old` to this snapshot; a route counts as
    /// unchanged only when it is the very same compiled route.
    pub fn changes_from(&self, old: &Snapshot) -> RouteChanges {
        let mut changes = RouteChanges::default();
        for route in &self.routes {
            match old.by_id.get(&route.id) {
                None => changes.added.push(route.id.clone()),
                Some(before) if Arc::ptr_eq(before, route) => changes.unchanged += 1,
                Some(_) => changes.changed.push(route.id.clone()),
            }
        }
        changes.removed = old
            .routes
            .iter()
            .filter(|r| !self.by_id.contains_key(&r.id))
            .map(|r| r.id.clone())
            .collect();
        changes
    }

    pub fn route(&self, id: &str) -> Option<&Arc<Route>> {
        self.by_id.get(id)
    }

    /// The text of route `id`'s file, as read for this snapshot.
    pub fn route_text(&self, id: &str) -> Option<&Arc<str>> {
        self.texts.get(id)
    }

    /// The route serving `method` and `path` on `addr`: a route whose path
    /// is `path` itself first, else one whose pattern matches it, with the
    /// values of the pattern's `{name}` segments.
    pub fn http_route(
        &self,
        addr: SocketAddr,
        method: &Method,
        path: &str,
    ) -> Option<(Arc<Route>, Option<PathParams>)> {
        let exact = self.http.get(&(addr, method.clone(), path.to_string()));
        if let Some(route) = exact.filter(|route| !is_http_pattern(route)) {
            return Some((route.clone(), None));
        }
        let found = self.http_patterns.get(&addr)?.at(path).ok()?;
        let route = self.http.get(&(addr, method.clone(), found.value.clone()))?;
        Some((route.clone(), Some(http::path_params(found.params.iter()))))
    }

    /// Whether some route serves `path` on `addr` with another method (405).
    pub fn http_path_known(&self, addr: SocketAddr, path: &str) -> bool {
        self.http
            .iter()
            .any(|((a, _, p), route)| *a == addr && p == path && !is_http_pattern(route))
            || self
                .http_patterns
                .get(&addr)
                .is_some_and(|patterns| patterns.at(path).is_ok())
    }

    /// The SOAP service on `path` of `addr`.
    pub fn soap_service(&self, addr: SocketAddr, path: &str) -> Option<&Arc<SoapService>> {
        self.soap.get(&(addr, path.to_string()))
    }

    /// The routes of the MLLP listener on `addr`.
    pub fn mllp_service(&self, addr: SocketAddr) -> Option<&Arc<MllpService>> {
        self.mllp.get(&addr)
    }

    /// Every listener address MLLP routes need.
    pub fn mllp_addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<_> = self.mllp.keys().copied().collect();
        addrs.sort();
        addrs
    }

    /// Every listener address HTTP and SOAP routes need.
    pub fn http_addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<_> = self.http.keys().map(|(addr, _, _)| *addr).collect();
        addrs.extend(self.soap.keys().map(|(addr, _)| *addr));
        addrs.sort();
        addrs.dedup();
        addrs
    }
}

/// The values of a matched pattern's `{name}` segments, by name.
pub type PathParams = Map<String, Value>;

fn is_http_pattern(route: &Route) -> bool {
    matches!(&route.source, Source::Http { config, .. } if config.is_pattern())
}

/// The settings every compiled route may depend on: when one of them
/// changes, no route is kept.
fn same_route_settings(a: &Settings, b: &Settings) -> bool {
    a.scripts_dir == b.scripts_dir
        && a.templates_dir == b.templates_dir
        && a.mappings_dir == b.mappings_dir
        && a.http_addr == b.http_addr
        && a.admin_addr == b.admin_addr
        && a.timezone == b.timezone
        && a.values == b.values
        && a.listeners == b.listeners
}

impl RouteInputs {
    fn of(file: &std::path::Path, spec: &RouteSpec, settings: &Settings, tables: &Arc<TableFiles>) -> RouteInputs {
        let mut referenced = Vec::new();
        let mut uses_tables = false;
        let replies = [spec.reply.as_ref(), spec.on_error.reply.as_ref()];
        for file in replies
            .into_iter()
            .flatten()
            .filter_map(|reply| reply.body_file.as_ref())
        {
            let path = settings.templates_dir.join(&file.value);
            let text = std::fs::read_to_string(&path).ok();
            referenced.push((path, text));
        }
        for step in &spec.steps {
            let (dir, named) = match &step.value {
                StepSpec::Script(config) => (&settings.scripts_dir, config.file.as_ref()),
                StepSpec::Template(config) => (&settings.templates_dir, config.file.as_ref()),
                StepSpec::Reply(config) => (&settings.templates_dir, config.body_file.as_ref()),
                _ => (&settings.scripts_dir, None),
            };
            uses_tables |= matches!(
                step.value,
                StepSpec::Map(_) | StepSpec::Script(_) | StepSpec::Filter(_) | StepSpec::Set(_)
            );
            if let Some(named) = named {
                let path = dir.join(&named.value);
                let text = std::fs::read_to_string(&path).ok();
                referenced.push((path, text));
            }
        }
        RouteInputs {
            file: file.to_path_buf(),
            spec: spec.clone(),
            referenced,
            tables: uses_tables.then(|| tables.clone()),
        }
    }
}

/// Every file under the mappings folder with its bytes (small files: code tables).
fn read_table_files(dir: &std::path::Path) -> TableFiles {
    fn walk(dir: &std::path::Path, out: &mut TableFiles) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(path, bytes);
            }
        }
    }
    let mut files = TableFiles::new();
    walk(dir, &mut files);
    files
}

fn build_route(
    file: PathBuf,
    spec: RouteSpec,
    resources: &Resources,
    known_ids: &std::collections::HashSet<String>,
    diagnostics: &mut Diagnostics,
) -> Option<Route> {
    let id = spec.id.value.clone();
    if id.trim().is_empty() || id.contains(char::is_whitespace) {
        diagnostics.error(
            &file,
            spec.id.at,
            format!("route id `{id}` is empty or has spaces; expected e.g. `examples.patient-register`"),
        );
    }
    let mut cx = BuildContext {
        file: &file,
        at: spec.source.at,
        resources,
        diagnostics,
    };
    let source = build_source(&spec.source.value, &mut cx);
    let mut steps = Vec::new();
    let mut steps_ok = true;
    for step in &spec.steps {
        cx.at = step.at;
        match Step::build(&step.value, &mut cx) {
            Some(built) => steps.push((step.value.kind(), built)),
            None => steps_ok = false,
        }
    }
    let mut destinations = Vec::new();
    let mut destinations_ok = true;
    for destination in &spec.destinations {
        cx.at = destination.at;
        if destinations.iter().any(|d: &Destination| d.name == destination.name) {
            cx.error(format!(
                "destination name `{}` is used twice in this route; expected unique names",
                destination.name
            ));
            destinations_ok = false;
            continue;
        }
        if destination.max_attempts == 0 {
            cx.error("max_attempts must be at least 1");
        }
        if let EndpointSpec::Route(target) = &destination.to.value {
            cx.at = destination.to.at;
            if !known_ids.contains(&target.id) {
                cx.error(format!(
                    "destination `{}` hands over to route `{}`, which does not exist; expected the id of a loaded route",
                    destination.name, target.id
                ));
            } else if target.id == id {
                cx.error(format!(
                    "destination `{}` hands the route over to itself; expected another route",
                    destination.name
                ));
            }
        }
        let endpoint = Endpoint::build(&destination.to.value, destination.to.at, &mut cx);
        cx.at = destination.to.at;
        let policy = DeliveryPolicy::build(
            PolicySpec {
                max_attempts: destination.max_attempts,
                max_age: destination.max_age,
                concurrency: destination.concurrency,
                ordered: destination.ordered.as_ref(),
                backoff: destination.backoff.as_ref(),
                retry_on: destination.retry_on.as_deref(),
            },
            &mut cx,
        );
        match (endpoint, policy) {
            (Some(endpoint), Some(policy)) => destinations.push(Destination {
                name: destination.name.clone(),
                endpoint,
                policy,
            }),
            _ => destinations_ok = false,
        }
    }
    let reply = match (&spec.reply, &spec.source.value) {
        (None, SourceSpec::Soap(_)) => ReplyStep::build(&crate::sources::soap::default_reply(), &mut cx).map(Some),
        (reply, _) => build_reply(reply.as_ref(), &mut cx),
    };
    let error_reply = build_reply(spec.on_error.reply.as_ref(), &mut cx);
    let source = source?;
    if !steps_ok || !destinations_ok {
        return None;
    }
    Some(Route {
        id,
        file: file.clone(),
        source,
        steps,
        destinations,
        reply: reply?,
        error_reply: error_reply?,
        spec,
    })
}

fn build_source(spec: &SourceSpec, cx: &mut BuildContext) -> Option<Source> {
    match spec {
        SourceSpec::Http(config) => {
            let method = config.method().map_err(|e| cx.error(e)).ok();
            if let Err(e) = config.check_path() {
                cx.error(e);
                return None;
            }
            let addr = Listen::resolve(config.listen.as_ref(), &cx.resources.settings)
                .map_err(|e| cx.error(e))
                .ok()?;
            Some(Source::Http {
                addr,
                method: method?,
                config: config.clone(),
            })
        }
        SourceSpec::Soap(config) => {
            if let Err(e) = config.check() {
                cx.error(e);
                return None;
            }
            let addr = Listen::resolve(config.listen.as_ref(), &cx.resources.settings)
                .map_err(|e| cx.error(e))
                .ok()?;
            Some(Source::Soap {
                addr,
                config: config.clone(),
            })
        }
        SourceSpec::Mllp(config) => {
            let (options, patterns) = config.check().map_err(|e| cx.error(e)).ok()?;
            let addr = Listen::resolve(Some(&config.listen), &cx.resources.settings)
                .map_err(|e| cx.error(e))
                .ok()?;
            Some(Source::Mllp {
                addr,
                config: config.clone(),
                options,
                patterns,
                timezone: cx.resources.settings.timezone,
            })
        }
        SourceSpec::File(config) => {
            let pattern = config.check().map_err(|e| cx.error(e)).ok()?;
            Some(Source::File {
                dir: cx.resources.settings.data_dir.join(&config.dir),
                config: config.clone(),
                pattern,
            })
        }
        SourceSpec::Timer(config) => match config.schedule(cx.resources.settings.timezone) {
            Ok(schedule) => Some(Source::Timer {
                schedule,
                body: config.body.clone(),
            }),
            Err(e) => {
                cx.error(e);
                None
            }
        },
    }
}

/// `Some(None)` when there is no reply to build, `None` when it failed.
fn build_reply(
    config: Option<&crate::config::Located<crate::steps::reply::ReplyConfig>>,
    cx: &mut BuildContext,
) -> Option<Option<ReplyStep>> {
    let Some(config) = config else {
        return Some(None);
    };
    cx.at = config.at;
    ReplyStep::build(&config.value, cx).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Config(tempfile::TempDir);

    impl Config {
        fn new() -> Config {
            let config = Config(tempfile::tempdir().unwrap());
            config.write("routes/echo.yaml", &http_route("echo", "/echo", "v1"));
            config.write(
                "routes/tick.yaml",
                "id: t.tick\nsource:\n  timer: { every: 1s, body: tick }\n",
            );
            config.write(
                "routes/scripted.yaml",
                "id: t.scripted\nsource:\n  http: { path: /scripted }\nsteps:\n  - script: { file: s.rhai }\n",
            );
            config.write("scripts/s.rhai", "vars.x = 1;\n");
            config.write(
                "routes/mapped.yaml",
                "id: t.mapped\nsource:\n  http: { path: /mapped }\nsteps:\n  - parse: { format: json }\n  - map: { path: body.sex, table: sex, by: code, to: name, as: vars.sex }\n",
            );
            config.write("mappings/sex.csv", "code,name\n1,male\n");
            config
        }

        fn write(&self, relative: &str, text: &str) {
            let path = self.0.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }

        fn settings(&self) -> Arc<Settings> {
            Arc::new(Settings::for_dir(self.0.path()))
        }

        fn load(&self, previous: Option<&Snapshot>) -> Snapshot {
            Snapshot::load_reusing(self.settings(), previous).unwrap_or_else(|errors| panic!("{errors:?}"))
        }
    }

    fn http_route(id: &str, path: &str, answer: &str) -> String {
        format!("id: t.{id}\nsource:\n  http: {{ path: {path} }}\nreply:\n  body: {answer}\n")
    }

    fn same(a: &Snapshot, b: &Snapshot, id: &str) -> bool {
        Arc::ptr_eq(a.route(id).unwrap(), b.route(id).unwrap())
    }

    #[test]
    fn a_reload_keeps_every_route_whose_inputs_did_not_change() {
        let config = Config::new();
        let first = config.load(None);
        config.write("routes/echo.yaml", &http_route("echo", "/echo", "v2"));
        let second = config.load(Some(&first));
        assert_eq!(
            second.changes_from(&first),
            RouteChanges {
                added: vec![],
                changed: vec!["t.echo".into()],
                removed: vec![],
                unchanged: 3,
            }
        );
        assert!(same(&first, &second, "t.tick") && same(&first, &second, "t.scripted"));
        assert!(!same(&first, &second, "t.echo"));
    }

    #[test]
    fn a_changed_script_or_table_changes_the_routes_that_use_it() {
        let config = Config::new();
        let first = config.load(None);
        config.write("scripts/s.rhai", "vars.x = 2;\n");
        let second = config.load(Some(&first));
        assert_eq!(second.changes_from(&first).changed, ["t.scripted"]);
        config.write("mappings/sex.csv", "code,name\n1,male\n2,female\n");
        let third = config.load(Some(&second));
        let mut changed = third.changes_from(&second).changed;
        changed.sort();
        // A script may look up any table.
        assert_eq!(changed, ["t.mapped", "t.scripted"]);
        assert!(same(&second, &third, "t.echo") && same(&second, &third, "t.tick"));
    }

    #[test]
    fn added_and_removed_routes_and_changed_settings_are_told_apart() {
        let config = Config::new();
        let first = config.load(None);
        std::fs::remove_file(config.0.path().join("routes/tick.yaml")).unwrap();
        config.write("routes/new.yaml", &http_route("new", "/new", "hello"));
        let second = config.load(Some(&first));
        let changes = second.changes_from(&first);
        assert_eq!(
            (changes.added, changes.removed),
            (vec!["t.new".to_string()], vec!["t.tick".to_string()])
        );
        assert_eq!(changes.unchanged, 3);

        let mut settings = (*config.settings()).clone();
        settings.timezone = chrono_tz::Europe::Paris;
        let third = Snapshot::load_reusing(Arc::new(settings), Some(&second)).unwrap();
        let changes = third.changes_from(&second);
        assert_eq!((changes.changed.len(), changes.unchanged), (4, 0));
    }

    #[test]
    fn a_broken_configuration_is_refused_with_every_error() {
        let config = Config::new();
        let first = config.load(None);
        config.write(
            "routes/echo.yaml",
            "id: t.echo\nsource:\n  http: { path: /echo, colour: red }\n",
        );
        config.write(
            "routes/scripted.yaml",
            "id: t.scripted\nsource:\n  http: { path: /scripted }\nsteps:\n  - script: { file: gone.rhai }\n",
        );
        let errors = Snapshot::load_reusing(config.settings(), Some(&first)).err().unwrap();
        let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].contains("echo.yaml:3:"), "{texts:?}");
        assert!(
            texts[1].contains("scripted.yaml:5:") && texts[1].contains("gone.rhai"),
            "{texts:?}"
        );
    }
}
