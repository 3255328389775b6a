//! The HTTP surface: public channels and governance for remote systems, on actix-web.
//!
//! A remote system is docked with [`Gateway::dock`] (or from a config's `[[remotes]]`),
//! and acts through bearer tokens the kernel minted ([`Gateway::mint`], `exokern
//! token`). Every request acts as the token's system, with exactly its grants and
//! capabilities, through the same kernel paths as a system docked in-process. Errors are
//! `{ "error": { "type", "message" } }` with a status saying whose fault it was; no input
//! makes a handler panic or answer 500. The routes describe themselves at
//! `GET /v1/openapi.json`.
//!
//! `exokern launch CONFIG --publish` serves them; an embedder adds them to its own
//! `App` with [`routes`]:
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use exokern::http::{routes, Gateway, HttpLimits};
//! use exokern::kernel::{Kernel, RemoteDock};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let kernel = Kernel::builder().start().await?;
//! let gateway = Gateway::new(kernel, HttpLimits::default());
//! gateway.dock(RemoteDock::new("dashboard".parse()?)).await?;
//! let (token, _record) = gateway.mint("dashboard".parse()?, None);
//! println!("Authorization: Bearer {}", token.secret());
//! HttpServer::new(move || App::new().configure(routes(gateway.clone())))
//!     .bind(("127.0.0.1", 8100))?
//!     .run()
//!     .await?;
//! # Ok(()) }
//! ```

mod caller;
mod channels;
mod error;
mod gateway;
mod governance;
mod openapi;
mod stream;

use actix_web::web;

pub use caller::Caller;
pub use channels::{
    ChannelInfo, Claim, Claimed, ClaimedItem, Extend, Messages, Publish, Published, Settle,
};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use gateway::{Gateway, HttpLimits, MAX_LIMIT};
pub use governance::{Decision, Health};
pub use openapi::ApiDoc;

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
