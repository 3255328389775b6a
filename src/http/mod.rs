//! The HTTP surface: public channels and governance for remote systems, on actix-web.
//!
//! The [`Gateway`] (remote systems and their tokens) is always here, as `launch` docks
//! a config's remotes with it; the routes need the `http` feature.
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

#[cfg(feature = "http")]
mod caller;
#[cfg(feature = "http")]
mod channels;
#[cfg(feature = "http")]
mod error;
mod gateway;
#[cfg(feature = "http")]
mod governance;
#[cfg(feature = "http")]
mod openapi;
#[cfg(feature = "http")]
mod routes;
#[cfg(feature = "http")]
mod stream;

#[cfg(feature = "http")]
pub use caller::Caller;
#[cfg(feature = "http")]
pub use channels::{
    ChannelInfo, Claim, Claimed, ClaimedItem, Extend, Messages, Publish, Published, Settle,
};
#[cfg(feature = "http")]
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use gateway::{Gateway, HttpLimits, MAX_LIMIT};
#[cfg(feature = "http")]
pub use governance::{Decision, Health};
#[cfg(feature = "http")]
pub use openapi::ApiDoc;
#[cfg(feature = "http")]
pub use routes::routes;
