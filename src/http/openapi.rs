//! The OpenAPI document, generated from the routes' own annotations.

use actix_web::{get, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{channels, governance, stream};

/// exokern's HTTP API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "exokern",
        description = "Public channels and governance of an exokern kernel, for remote systems. Every route but health and this document needs `Authorization: Bearer <token>` (from `exokern token SYSTEM`); errors are `{\"error\": {\"type\", \"message\"}}`."
    ),
    paths(
        channels::list,
        channels::read,
        channels::publish,
        channels::claim,
        channels::ack,
        channels::nack,
        channels::extend,
        channels::inbox,
        stream::stream,
        governance::health,
        governance::snapshot,
        governance::request_capability,
        governance::derive_capability,
        governance::revoke_capability,
        governance::authorize,
        governance::execute,
        governance::approvals,
        governance::decide,
        governance::lifecycle,
        governance::load_module,
        governance::unload_module,
        document,
    ),
    servers((url = "/v1")),
    modifiers(&Bearer),
    tags(
        (name = "channels", description = "Public channels: read, publish, claim, stream"),
        (name = "governance", description = "Capabilities, actions, approvals, lifecycle"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// This document.
#[utoipa::path(tag = "governance", responses((status = 200, body = Object, description = "OpenAPI 3")))]
#[get("/openapi.json")]
pub(crate) async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
