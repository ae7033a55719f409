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
use crate::sources::http::HttpSourceConfig;
use crate::sources::timer::Schedule;
use crate::steps::reply::ReplyStep;
use crate::steps::{BuildContext, Step};
use axum::http::Method;
use std::collections::HashMap;
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
        let mut diagnostics = Diagnostics::default();
        let (mappings, errors) = Mappings::load(&settings.mappings_dir);
        diagnostics.items.extend(errors);
        let mappings = Arc::new(mappings);
        let scripting = Arc::new(Scripting::new(settings.timezone, mappings.clone()));
        let resources = Resources {
            settings: settings.clone(),
            mappings,
            scripting,
        };
        let (files, errors) = load_route_files(&settings.routes_dir);
        diagnostics.items.extend(errors);

        let known_ids: std::collections::HashSet<String> = files.iter().map(|f| f.route.id.value.clone()).collect();
        let mut routes = Vec::new();
        let mut by_id: HashMap<String, Arc<Route>> = HashMap::new();
        let mut http: HashMap<(SocketAddr, Method, String), Arc<Route>> = HashMap::new();
        for file in files {
            let Some(route) = build_route(file.path, file.route, &resources, &known_ids, &mut diagnostics) else {
                continue;
            };
            let route = Arc::new(route);
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
                http.insert(key, route.clone());
            }
            by_id.insert(route.id.clone(), route.clone());
            routes.push(route);
        }
        if !diagnostics.is_empty() {
            return Err(diagnostics.sorted());
        }
        Ok(Snapshot {
            settings,
            resources,
            routes,
            by_id,
            http,
        })
    }

    pub fn route(&self, id: &str) -> Option<&Arc<Route>> {
        self.by_id.get(id)
    }

    pub fn http_route(&self, addr: SocketAddr, method: &Method, path: &str) -> Option<&Arc<Route>> {
        self.http.get(&(addr, method.clone(), path.to_string()))
    }

    /// Whether some route serves `path` on `addr` with another method (405).
    pub fn http_path_known(&self, addr: SocketAddr, path: &str) -> bool {
        self.http.keys().any(|(a, _, p)| *a == addr && p == path)
    }

    /// Every listener address HTTP routes need.
    pub fn http_addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<_> = self.http.keys().map(|(addr, _, _)| *addr).collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }
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
    let reply = build_reply(spec.reply.as_ref(), &mut cx);
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
            let addr = config.listen.unwrap_or(cx.resources.settings.http_addr);
            if addr == cx.resources.settings.admin_addr {
                cx.error(format!(
                    "{addr} is the admin listener; expected another address for routes"
                ));
                return None;
            }
            Some(Source::Http {
                addr,
                method: method?,
                config: config.clone(),
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
