//! Route registration that also records what it registers, so that the router and
//! [`route_table`](super::route_table) come from the same definitions. It runs once
//! per worker at start-up: requests meet plain actix resources.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Resource, Responder, web};

use super::error::{method_not_allowed, not_found_fallback};
use super::prometheus::RouteTemplate;

/// One path pattern and the handler of each method it serves; any other method
/// is answered 405.
pub struct Endpoint {
    path: &'static str,
    methods: Vec<Method>,
    resource: Resource,
}

impl Endpoint {
    pub fn new(path: &'static str) -> Self {
        Endpoint {
            path,
            methods: Vec::new(),
            resource: web::resource(path),
        }
    }

    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::GET, handler)
    }

    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::POST, handler)
    }

    pub fn put<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PUT, handler)
    }

    pub fn patch<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::PATCH, handler)
    }

    pub fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::DELETE, handler)
    }

    fn on<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::method(method.clone()).to(handler));
        self.methods.push(method);
        self
    }
}

/// Where endpoints go: into the router, or into the table of routes.
enum Sink<'a> {
    Router(&'a mut web::ServiceConfig),
    Table(&'a mut Vec<(Method, String)>),
}

/// Endpoints under a path prefix, added in routing order.
pub struct Routes<'a> {
    prefix: String,
    sink: Sink<'a>,
}

impl<'a> Routes<'a> {
    pub(super) fn router(cfg: &'a mut web::ServiceConfig) -> Self {
        Routes {
            prefix: String::new(),
            sink: Sink::Router(cfg),
        }
    }

    pub(super) fn table(table: &'a mut Vec<(Method, String)>) -> Self {
        Routes {
            prefix: String::new(),
            sink: Sink::Table(table),
        }
    }

    pub fn add(&mut self, endpoint: Endpoint) -> &mut Self {
        match &mut self.sink {
            Sink::Router(cfg) => {
                let template = format!("{}{}", self.prefix, endpoint.path);
                cfg.service(
                    endpoint
                        .resource
                        .app_data(RouteTemplate(template.into()))
                        .default_service(web::to(method_not_allowed)),
                );
            }
            Sink::Table(table) => {
                let path = format!("{}{}", self.prefix, endpoint.path);
                table.extend(
                    endpoint
                        .methods
                        .into_iter()
                        .map(|method| (method, path.clone())),
                );
            }
        }
        self
    }

    /// The endpoints `routes` adds, under `prefix`; a path under it that none of
    /// them serves is answered 404.
    pub fn scope(
        &mut self,
        prefix: &'static str,
        routes: impl FnOnce(&mut Routes<'_>),
    ) -> &mut Self {
        let full_prefix = format!("{}{prefix}", self.prefix);
        match &mut self.sink {
            Sink::Router(cfg) => {
                cfg.service(
                    web::scope(prefix)
                        .configure(|inner| {
                            let mut scoped = Routes::router(inner);
                            scoped.prefix = full_prefix;
                            routes(&mut scoped);
                        })
                        .default_service(web::to(not_found_fallback)),
                );
            }
            Sink::Table(table) => routes(&mut Routes {
                prefix: full_prefix,
                sink: Sink::Table(table),
            }),
        }
        self
    }
}
