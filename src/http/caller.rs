//! [`Caller`]: the remote system a request acts as, from its bearer token.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use exokern_actors::channel::ChannelHandle;
use exokern_actors::kernel::{LifecycleState, RemoteSystem, Visibility};
use exokern_actors::ChannelId;
use serde_json::Value;

use super::error::ApiError;
use super::gateway::{Authenticated, Gateway};

/// The remote system a request acts as: the one its `Authorization: Bearer` token names,
/// docked and running. Every route but health and the OpenAPI document needs one.
#[derive(Debug, Clone)]
pub struct Caller {
    remote: RemoteSystem,
}

impl Caller {
    /// The remote system.
    pub fn remote(&self) -> &RemoteSystem {
        &self.remote
    }

    /// The caller's handle on public channel `channel` (given as text, from a path):
    /// 404 if there is no such public channel, 403 if the caller was not granted it.
    pub(crate) async fn channel(&self, channel: &str) -> Result<ChannelHandle<Value>, ApiError> {
        let no_such = || {
            ApiError::not_found(format!(
                "no public channel `{}`: GET /v1/channels lists them",
                channel.chars().take(128).collect::<String>()
            ))
        };
        let id = ChannelId::new(channel).map_err(|_| no_such())?;
        let ports = self.remote.ports();
        match ports.visibility(&id) {
            Some(Visibility::Public) => {}
            Some(_) => return Err(no_such()),
            // Only a refusal asks the kernel: whether there is such a channel at all.
            None if self.remote.client().public_channels().await?.contains(&id) => {
                return Err(ApiError::forbidden(format!(
                    "`{}` was not granted channel `{id}`: add it to the remote's channels",
                    self.remote.id()
                )))
            }
            None => return Err(no_such()),
        }
        ports.channel::<Value>(&id).map_err(|error| {
            ApiError::not_found(format!(
                "channel `{id}` cannot be served over HTTP: {error}"
            ))
        })
    }

    fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
        let gateway = req.app_data::<web::Data<Gateway>>().ok_or_else(|| {
            ApiError::unavailable("exokern's routes were added without a gateway")
        })?;
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "no token: send `Authorization: Bearer <token>` (`exokern token SYSTEM` mints one)",
                )
            })?
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        let remote = match gateway.authenticate(presented.trim())? {
            Authenticated::Remote(remote) => remote,
            Authenticated::NotServed(system) => {
                return Err(ApiError::unauthorized(format!(
                    "the token acts as `{system}`, which is not a remote system of this kernel"
                )))
            }
        };
        match remote.state() {
            LifecycleState::Running => Ok(Caller { remote }),
            LifecycleState::Paused => Err(ApiError::conflict(
                "paused",
                format!(
                    "`{}` is paused: a privileged system must resume it",
                    remote.id()
                ),
            )),
            LifecycleState::Draining
            | LifecycleState::Drained
            | LifecycleState::DrainFailed
            | LifecycleState::Docked => Err(ApiError::unavailable(format!(
                "`{}` is {}: it takes no requests",
                remote.id(),
                remote.state()
            ))),
            state => Err(ApiError::unauthorized(format!(
                "the token acts as `{}`, which is {state}: it no longer acts",
                remote.id()
            ))),
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Caller::authenticate(req))
    }
}
