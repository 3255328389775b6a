//! Setting up a shared channel's streams: made by the first kernel to open the channel,
//! found as it made them by the others, who must ask for the same.

use async_nats::jetstream::stream;

use crate::NatsError;

/// Creates a stream, or finds it as another kernel created it.
pub(crate) async fn create_stream(
    jetstream: &async_nats::jetstream::Context,
    config: stream::Config,
) -> Result<stream::Config, NatsError> {
    let name = config.name.clone();
    match jetstream.get_or_create_stream(config.clone()).await {
        Ok(mut stream) => {
            let info = stream.info().await.map_err(|e| NatsError::Setup {
                what: name.clone(),
                detail: e.to_string(),
            })?;
            let held = info.config.clone();
            check_same(
                &name,
                "retention",
                format!("{:?}", held.retention),
                format!("{:?}", config.retention),
            )?;
            check_same(
                &name,
                "subjects",
                held.subjects.join(","),
                config.subjects.join(","),
            )?;
            Ok(held)
        }
        Err(e) => Err(NatsError::Setup {
            what: name,
            detail: e.to_string(),
        }),
    }
}

/// Refuses a kernel asking for `ours` where the server holds `theirs`.
pub(crate) fn check_same<V: PartialEq + ToString>(
    stream: &str,
    setting: &'static str,
    theirs: V,
    ours: V,
) -> Result<(), NatsError> {
    if theirs == ours {
        return Ok(());
    }
    Err(NatsError::Mismatch {
        stream: stream.to_owned(),
        setting,
        theirs: theirs.to_string(),
        ours: ours.to_string(),
    })
}
