//! What the store's tests share: a docked system that hands over its kernel client.

use std::sync::{Arc, Mutex};

use exokern_actors::kernel::{Dock, KernelClient, KernelHandle};
use exokern_actors::system::{System, SystemContext};
use exokern_actors::SystemId;

/// A system that only asks the kernel what the test tells it to.
struct Clerk {
    client: Arc<Mutex<Option<KernelClient>>>,
}

impl System for Clerk {
    type Message = ();

    fn started(&mut self, ctx: &mut SystemContext<'_, Self>) {
        *self.client.lock().unwrap() = ctx.kernel().cloned();
    }
}

/// Docks a clerk named `name` and answers its kernel client.
pub(crate) async fn clerk(kernel: &KernelHandle, name: &str) -> KernelClient {
    let slot = Arc::new(Mutex::new(None));
    let client = Arc::clone(&slot);
    let dock = Dock::new(SystemId::new(name).unwrap(), move || Clerk {
        client: Arc::clone(&client),
    });
    kernel.dock(dock).await.expect("the clerk docks");
    let client = slot.lock().unwrap().take();
    client.expect("the clerk started before its dock returned")
}
