//! [`routes`]: every route, under `/v1`, with its body limit and error handlers.

use actix_web::web;

use super::error::{self, ApiError};
use super::{channels, governance, openapi, stream, Gateway};

/// Adds exokern's routes, under `/v1`, to an `App` (or a scope of one):
/// `App::new().configure(routes(gateway))`. The scope carries its own body limit and
/// error handlers, so the rest of the application keeps its own.
pub fn routes(gateway: Gateway) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let limit = gateway.limits().max_body_bytes;
        config.service(
            web::scope("/v1")
                .app_data(web::Data::new(gateway))
                .app_data(
                    web::JsonConfig::default()
                        .limit(limit)
                        .error_handler(error::json_error),
                )
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .service(channels::list)
                .service(channels::read)
                .service(channels::publish)
                .service(channels::claim)
                .service(channels::ack)
                .service(channels::nack)
                .service(channels::extend)
                .service(channels::inbox)
                .service(stream::stream)
                .service(governance::health)
                .service(governance::snapshot)
                .service(governance::request_capability)
                .service(governance::derive_capability)
                .service(governance::revoke_capability)
                .service(governance::authorize)
                .service(governance::execute)
                .service(governance::approvals)
                .service(governance::decide)
                .service(governance::lifecycle)
                .service(governance::load_module)
                .service(governance::unload_module)
                .service(openapi::document)
                .default_service(web::to(not_found)),
        );
    }
}

async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no route {} {}: GET /v1/openapi.json lists them",
        req.method(),
        req.path().chars().take(128).collect::<String>()
    )))
}
