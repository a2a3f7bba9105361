//! What servers tell each other about jobs: a LISTEN connection to the database turns each
//! NOTIFY on `store::CHANNEL` (a job's id, sent by whichever server changed it) into an event
//! for this server's waiters and workers. If the connection drops it is opened again; the
//! workers poll meanwhile, and waiters re-read their job when they wake.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use super::store::CHANNEL;

/// The ids of jobs that changed, as they are announced.
#[derive(Clone)]
pub(super) struct Events {
    sender: broadcast::Sender<String>,
}

impl Events {
    /// Listens on its own connection (`config`, the owner's) until `stopping` turns true (the
    /// database may go away then, which is no news).
    pub(super) fn listen(
        config: tokio_postgres::Config,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Events {
        // Waiters that fall this far behind re-read their job anyway.
        let (sender, _) = broadcast::channel(1024);
        let events = Events {
            sender: sender.clone(),
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    relayed = relay(&config, &sender) => if let Err(error) = relayed {
                        tracing::warn!(%error, "job notifications interrupted; listening again");
                    },
                    _ = stopping.changed() => return,
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        events
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }
}

/// Relays notifications until the connection fails.
async fn relay(
    config: &tokio_postgres::Config,
    sender: &broadcast::Sender<String>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {CHANNEL}");
    let listen = client.batch_execute(&statement);
    // The connection must be polled for LISTEN to complete: both at once.
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            done = &mut listen, if !listening => {
                done?;
                listening = true;
                // Anything missed while not listening: everyone looks again.
                let _ = sender.send(String::new());
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(notification))) => {
                    let _ = sender.send(notification.payload().to_string());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            },
        }
    }
}
