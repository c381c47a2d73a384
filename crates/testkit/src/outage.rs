//! An API server outage for one client: a TCP forwarder in front of the real API server that
//! can drop every connection and refuse new ones, then let them through again. Only the
//! network path of the client given its address fails; the API server and the other tests
//! that share it go on.

use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Outage {
    address: SocketAddr,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Outage {
    /// Forwards a local port to `upstream` (host:port of the API server).
    pub async fn forward_to(upstream: String) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (up, watching) = watch::channel(true);
        let task = tokio::spawn(accept(listener, upstream, watching));
        Ok(Self { address, up, task })
    }

    /// Where clients connect instead of the API server.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The API server "goes away": open connections are cut, new ones closed at once.
    pub fn begin(&self) {
        let _ = self.up.send(false);
    }

    /// It "comes back".
    pub fn end(&self) {
        let _ = self.up.send(true);
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, upstream: String, up: watch::Receiver<bool>) {
    while let Ok((client, _)) = listener.accept().await {
        if !*up.borrow() {
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, upstream.clone(), up.clone()));
    }
}

async fn forward(mut client: TcpStream, upstream: String, mut up: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up.wait_for(|up| !*up) => {}
    }
}
