//! [`in_batches`]: a server's messages, as a channel takes them in: what came together
//! in one batch, up to a bound, ending after the first error.

use std::future::Future;
use std::pin::Pin;

use exokern_actors::store::StoreError;
use futures_util::stream::{self, BoxStream, Stream, StreamExt};

/// The messages of the stream `open` answers, in the batches they came in, of at most
/// `max`; a batch holds what came before an error, and the stream ends with the error.
pub(crate) fn in_batches<X: Send + 'static>(
    open: impl Future<Output = BoxStream<'static, Result<X, StoreError>>> + Send + 'static,
    max: usize,
) -> Pin<Box<dyn Stream<Item = Result<Vec<X>, StoreError>> + Send>> {
    Box::pin(
        stream::once(open)
            .flatten()
            .ready_chunks(max.max(1))
            .flat_map(|chunk| {
                let mut taken = Vec::with_capacity(chunk.len());
                let mut failed = None;
                for item in chunk {
                    match item {
                        Ok(item) if failed.is_none() => taken.push(item),
                        Ok(_) => {}
                        Err(error) => failed = failed.or(Some(Err(error))),
                    }
                }
                stream::iter(std::iter::once(Ok(taken)).chain(failed))
            })
            .scan(false, |broke, item: Result<Vec<X>, StoreError>| {
                if *broke {
                    return std::future::ready(None);
                }
                *broke = item.is_err();
                std::future::ready(Some(item))
            }),
    )
}
