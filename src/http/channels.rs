//! `/v1/channels`: public channels, as the caller's grants allow.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{get, post, web, HttpResponse};
use exokern_actors::channel::{ChannelHandle, ClaimToken, Inbound};
use exokern_actors::Envelope;
use exokern_actors::{Seq, SystemId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::gateway::MAX_LIMIT;

/// A public channel, and what the caller may do on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelInfo {
    /// The channel's id.
    pub id: String,
    /// `broadcast`, `work_queue` or `mailbox`; absent if the caller was not granted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The caller's rights on it (`NONE` if it was not granted it).
    pub rights: String,
}

/// Where a read starts and how much it takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ReadQuery {
    /// Messages with a seq greater than this (default 0: the oldest retained).
    after: Option<String>,
    /// At most this many, 1 to 1000 (default 100).
    limit: Option<String>,
}

/// Messages, oldest first. Each is an envelope: `seq`, `id`, `channel`, `sender`,
/// `sent_at` (Unix milliseconds), `payload`, and `recipient`, `correlation`,
/// `metadata` when set.
#[derive(Debug, Serialize, ToSchema)]
pub struct Messages {
    /// The messages.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Arc<Envelope<Value>>>,
    /// The seq to read after next time.
    pub next: u64,
}

/// A message to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// Any JSON value.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The recipient, on a mailbox (and only there).
    #[serde(default)]
    pub to: Option<String>,
}

/// Where a published message went.
#[derive(Debug, Serialize, ToSchema)]
pub struct Published {
    /// The seq the channel gave it.
    pub seq: u64,
}

/// A claim on a work queue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// How many items, 1 to 1000 (default 1).
    #[serde(default = "one")]
    pub max: u64,
    /// How long the claim holds them, in milliseconds (default 30000, at most a week).
    #[serde(default = "thirty_seconds")]
    pub lease_ms: u64,
}

fn one() -> u64 {
    1
}

fn thirty_seconds() -> u64 {
    30_000
}

/// Items claimed: settle each with its token before the lease runs out.
#[derive(Debug, Serialize, ToSchema)]
pub struct Claimed {
    /// The items.
    pub items: Vec<ClaimedItem>,
}

/// One claimed item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimedItem {
    /// The claim token: ack, nack or extend with it.
    #[schema(value_type = String, example = "12-9f86d081884c7d65")]
    pub token: ClaimToken,
    /// Which delivery this is (1 the first time).
    pub attempt: u32,
    /// The item.
    #[schema(value_type = Object)]
    pub message: Arc<Envelope<Value>>,
}

/// Settles a claim.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settle {
    /// The claim token the claim answered.
    #[schema(value_type = String)]
    pub token: ClaimToken,
    /// Why (nack only): recorded with a dead letter.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Extends a claim's lease.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extend {
    /// The claim token.
    #[schema(value_type = String)]
    pub token: ClaimToken,
    /// The new lease from now, in milliseconds (at most a week).
    pub lease_ms: u64,
}

/// A query number in `1..=max` (or `0..=max` with `zero`): not a number is 400, out of
/// range 422.
pub(crate) fn number(
    name: &str,
    text: Option<&str>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ApiError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::malformed(format!(
            "`{name}` must be a whole number, not {:?}",
            text.chars().take(32).collect::<String>()
        )));
    }
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "`{name}` must be {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

fn lease(ms: u64) -> Result<Duration, ApiError> {
    if ms == 0 {
        return Err(ApiError::invalid("`lease_ms` must be at least 1"));
    }
    Ok(Duration::from_millis(ms))
}

/// 422: `what` applies to channels of another kind (`applies_to`) than `handle`'s.
pub(crate) fn wrong_kind(handle: &ChannelHandle<Value>, what: &str, applies_to: &str) -> ApiError {
    ApiError::invalid(format!(
        "channel `{}` is a {}; {what} applies to {applies_to} only",
        handle.channel(),
        handle.kind()
    ))
}

/// Lists the public channels and the caller's rights on each.
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ChannelInfo>),
        (status = 401, body = ErrorBody),
    )
)]
#[get("/channels")]
pub(crate) async fn list(caller: Caller) -> Result<HttpResponse, ApiError> {
    let ports = caller.remote().ports();
    let channels: Vec<ChannelInfo> = caller
        .remote()
        .client()
        .public_channels()
        .await?
        .into_iter()
        .map(|id| {
            let port = ports.channel::<Value>(&id).ok();
            ChannelInfo {
                kind: port.as_ref().map(|p| p.kind().to_string()),
                rights: port
                    .map_or(exokern_actors::Rights::NONE, |p| p.rights())
                    .to_string(),
                id: id.to_string(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(channels))
}

/// Reads a broadcast's retained messages after a seq.
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(("channel" = String, Path, description = "The channel's id"), ReadQuery),
    responses(
        (status = 200, body = Messages),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Messages after `after` were evicted", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[get("/channels/{channel}/messages")]
pub(crate) async fn read(
    caller: Caller,
    channel: web::Path<String>,
    query: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    let handle = caller.channel(&channel).await?;
    let after = number("after", query.after.as_deref(), 0, 0..=u64::MAX)?;
    let limit = number("limit", query.limit.as_deref(), 100, 1..=MAX_LIMIT as u64)?;
    let ChannelHandle::Broadcast(broadcast) = handle else {
        return Err(wrong_kind(&handle, "read", "broadcasts"));
    };
    let messages = broadcast.read(Seq::new(after), limit as usize).await?;
    let next = messages.last().map_or(after, |m| m.seq().get());
    Ok(HttpResponse::Ok().json(Messages { messages, next }))
}

/// Publishes a message: to every subscriber of a broadcast, onto a work queue (429 if
/// full), or into the inbox of `to` on a mailbox (429 if full).
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(("channel" = String, Path, description = "The channel's id")),
    request_body = Publish,
    responses(
        (status = 201, body = Published),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    )
)]
#[post("/channels/{channel}/messages")]
pub(crate) async fn publish(
    caller: Caller,
    channel: web::Path<String>,
    body: web::Json<Publish>,
) -> Result<HttpResponse, ApiError> {
    let handle = caller.channel(&channel).await?;
    let Publish { payload, to } = body.into_inner();
    let seq = match (&handle, to) {
        (ChannelHandle::Mailbox(mailbox), Some(to)) => {
            let to = SystemId::new(&to)
                .map_err(|e| ApiError::invalid(format!("`to` is not a system id: {e}")))?;
            mailbox.try_send(&to, payload)?
        }
        (ChannelHandle::Mailbox(_), None) => {
            return Err(ApiError::invalid(
                "a mailbox message needs `to`: the recipient's system id",
            ))
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(format!(
                "`to` applies to mailboxes only, and `{channel}` is a {}",
                handle.kind()
            )))
        }
        (ChannelHandle::Broadcast(broadcast), None) => broadcast.publish(payload).await?,
        (ChannelHandle::WorkQueue(queue), None) => queue.try_send(payload).await?,
    };
    Ok(HttpResponse::Created().json(Published { seq: seq.get() }))
}

async fn work_queue(
    caller: &Caller,
    channel: &str,
    what: &str,
) -> Result<exokern_actors::channel::WorkQueueHandle<Value>, ApiError> {
    match caller.channel(channel).await? {
        ChannelHandle::WorkQueue(queue) => Ok(queue),
        other => Err(wrong_kind(&other, what, "work queues")),
    }
}

/// Claims up to `max` ready items of a work queue for `lease_ms`; answers at once,
/// with no items if none are ready.
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(("channel" = String, Path, description = "The work queue's id")),
    request_body = Claim,
    responses(
        (status = 200, body = Claimed),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/channels/{channel}/claim")]
pub(crate) async fn claim(
    caller: Caller,
    channel: web::Path<String>,
    body: web::Json<Claim>,
) -> Result<HttpResponse, ApiError> {
    let queue = work_queue(&caller, &channel, "claim").await?;
    if body.max == 0 || body.max > MAX_LIMIT as u64 {
        return Err(ApiError::invalid(format!("`max` must be 1 to {MAX_LIMIT}")));
    }
    let items = queue
        .claim(body.max as usize, lease(body.lease_ms)?)
        .await?;
    let items = items
        .into_iter()
        .filter_map(|item: Inbound<Value>| {
            Some(ClaimedItem {
                token: item.claim_token()?,
                attempt: item.attempt(),
                message: item.into_envelope(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(Claimed { items }))
}

/// Acks a claimed item: it is done and leaves the queue. A token that is not a live
/// lease of the caller's (expired, settled, forged) is 409 and changes nothing.
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(("channel" = String, Path, description = "The work queue's id")),
    request_body = Settle,
    responses(
        (status = 204, description = "Acked"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/channels/{channel}/ack")]
pub(crate) async fn ack(
    caller: Caller,
    channel: web::Path<String>,
    body: web::Json<Settle>,
) -> Result<HttpResponse, ApiError> {
    let queue = work_queue(&caller, &channel, "ack").await?;
    if body.reason.is_some() {
        return Err(ApiError::invalid("`reason` applies to nack only"));
    }
    queue.ack(body.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Nacks a claimed item: it goes back to the queue at once (or, past the queue's
/// attempts, to its dead letters with `reason`).
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(("channel" = String, Path, description = "The work queue's id")),
    request_body = Settle,
    responses(
        (status = 204, description = "Nacked"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/channels/{channel}/nack")]
pub(crate) async fn nack(
    caller: Caller,
    channel: web::Path<String>,
    body: web::Json<Settle>,
) -> Result<HttpResponse, ApiError> {
    let queue = work_queue(&caller, &channel, "nack").await?;
    queue.nack(body.token, body.reason.as_deref()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Extends a claim's lease to `lease_ms` from now.
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(("channel" = String, Path, description = "The work queue's id")),
    request_body = Extend,
    responses(
        (status = 204, description = "Extended"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/channels/{channel}/extend")]
pub(crate) async fn extend(
    caller: Caller,
    channel: web::Path<String>,
    body: web::Json<Extend>,
) -> Result<HttpResponse, ApiError> {
    let queue = work_queue(&caller, &channel, "extend").await?;
    queue.extend(body.token, lease(body.lease_ms)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Takes up to `limit` messages from the caller's inbox on a mailbox, without waiting.
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(
        ("channel" = String, Path, description = "The mailbox's id"),
        ("limit" = Option<String>, Query, description = "1 to 1000 (default 100)"),
    ),
    responses(
        (status = 200, body = Messages),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[get("/channels/{channel}/inbox")]
pub(crate) async fn inbox(
    caller: Caller,
    channel: web::Path<String>,
    query: web::Query<ReadQuery>,
) -> Result<HttpResponse, ApiError> {
    if query.after.is_some() {
        return Err(ApiError::invalid(
            "an inbox read takes messages in order; `after` applies to broadcasts",
        ));
    }
    let limit = number("limit", query.limit.as_deref(), 100, 1..=MAX_LIMIT as u64)?;
    let mailbox = match caller.channel(&channel).await? {
        ChannelHandle::Mailbox(mailbox) => mailbox,
        other => return Err(wrong_kind(&other, "inbox", "mailboxes")),
    };
    let messages: Vec<_> = mailbox
        .read(limit as usize)?
        .into_iter()
        .map(Inbound::into_envelope)
        .collect();
    let next = messages.last().map_or(0, |m| m.seq().get());
    Ok(HttpResponse::Ok().json(Messages { messages, next }))
}
