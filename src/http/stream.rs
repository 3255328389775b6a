//! `GET /v1/channels/{channel}/stream`: a broadcast as server-sent events, resumable.
//!
//! Each message is an event with `id: <seq>`, `event: message` and the envelope as JSON
//! in `data`. A client that reconnects with `Last-Event-ID` (every SSE client does)
//! gets exactly the retained messages it missed, then the live ones; if some were
//! evicted meanwhile it is told how many first (`event: lagged`), never silently. When
//! the channel stops or the caller loses its grant the stream ends with
//! `event: closed`. Idle streams carry a comment every 15 s so proxies keep them open
//! and a gone client is noticed.

use std::convert::Infallible;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{get, http::header, web, HttpRequest, HttpResponse};
use exokern_actors::channel::{ChannelHandle, RecvError, StartAt, SubscribeOptions, Subscription};
use exokern_actors::Seq;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::caller::Caller;
use super::channels::{number, wrong_kind};
use super::error::{ApiError, ErrorBody};

const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Where a stream starts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct StreamQuery {
    /// Start after this seq (the `Last-Event-ID` header wins); without either, with the
    /// next message published.
    after: Option<String>,
}

/// Streams a broadcast as server-sent events.
#[utoipa::path(
    tag = "channels",
    security(("bearer" = [])),
    params(
        ("channel" = String, Path, description = "The broadcast's id"),
        ("Last-Event-ID" = Option<String>, Header, description = "The last seq received"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `message`, `lagged` and `closed` events", content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    )
)]
#[get("/channels/{channel}/stream")]
pub(crate) async fn stream(
    caller: Caller,
    channel: web::Path<String>,
    query: web::Query<StreamQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let handle = caller.channel(&channel).await?;
    let ChannelHandle::Broadcast(broadcast) = handle else {
        return Err(wrong_kind(&handle, "a stream", "broadcasts"));
    };
    let last_event = match req.headers().get("last-event-id") {
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::malformed("`Last-Event-ID` must be the seq of the last event received")
        })?),
        None => None,
    };
    let resume = last_event.or(query.after.as_deref());
    let start = match resume {
        Some(text) => StartAt::After(Seq::new(number(
            "after",
            Some(text.trim()),
            0,
            0..=u64::MAX,
        )?)),
        None => StartAt::Live,
    };
    let subscription = broadcast
        .subscribe(SubscribeOptions::default().start(start))
        .await?;
    let events = futures_util::stream::unfold(Some(subscription), next_event);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events))
}

/// The next event of a subscription; `None` once it has ended.
async fn next_event(
    subscription: Option<Subscription<Value>>,
) -> Option<(Result<Bytes, Infallible>, Option<Subscription<Value>>)> {
    let mut subscription = subscription?;
    let event = match tokio::time::timeout(KEEP_ALIVE, subscription.recv()).await {
        Err(_) => ": keep-alive\n\n".to_owned(),
        Ok(Ok(envelope)) => {
            let data = serde_json::to_string(&*envelope).unwrap_or_else(|e| {
                json!({ "seq": envelope.seq(), "error": e.to_string() }).to_string()
            });
            format!("id: {}\nevent: message\ndata: {data}\n\n", envelope.seq())
        }
        Ok(Err(RecvError::Lagged { missed })) => {
            format!("event: lagged\ndata: {}\n\n", json!({ "missed": missed }))
        }
        Ok(Err(ended)) => {
            let event = format!(
                "event: closed\ndata: {}\n\n",
                json!({ "reason": ended.to_string() })
            );
            return Some((Ok(Bytes::from(event)), None));
        }
    };
    Some((Ok(Bytes::from(event)), Some(subscription)))
}
