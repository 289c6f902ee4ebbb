//! What the desk's tests share: the desk served on 127.0.0.1 at a free port over a sled store
//! in a temporary directory, and a plain HTTP/1.1 client.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use service_desk::{serve, Desk, DeskStore};
use service_lifecycle::sled::SledStore;
use service_lifecycle::ServiceEvent;

/// A desk running on its own runtime until [`Running::stop`].
pub struct Running<S = SledStore<ServiceEvent>> {
    pub address: SocketAddr,
    pub store: S,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Running {
    /// The desk over a new sled store.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("store")).unwrap();
        let mut running = Self::on(store);
        running._dir = Some(dir);
        running
    }
}

impl<S: DeskStore> Running<S> {
    /// The desk over `store`.
    pub fn on(store: S) -> Self {
        let desk = Arc::new(Desk::open(store.clone()).unwrap());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                serve(listener, desk, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        Self {
            address,
            store,
            stop: Some(stop),
            server: Some(server),
            _dir: None,
        }
    }

    /// `method path` with `body` (JSON) and `headers`; the status and the body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        request(self.address, method, path, body, headers)
    }

    /// POST `body` to `path`; the status and the body as JSON.
    pub fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let (status, text) = self.call("POST", path, Some(&body.to_string()), &[]);
        (status, json(&text))
    }

    /// GET `path`; the status and the body as JSON.
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, text) = self.call("GET", path, None, &[]);
        (status, json(&text))
    }
}

impl<S> Running<S> {
    /// Stops the desk as Ctrl-C does and waits for it: the requests in flight finish, the
    /// background task saves the checkpoint.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let stopped = server.join();
            // While a failing test unwinds, its own message is the one to keep.
            if !std::thread::panicking() {
                stopped.unwrap().unwrap();
            }
        }
    }
}

impl<S> Drop for Running<S> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `text` as JSON (Null when it is not).
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// One HTTP/1.1 request on its own connection.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    // A desk that stops answering fails the test instead of hanging it.
    let patience = Some(std::time::Duration::from_secs(60));
    stream.set_read_timeout(patience).unwrap();
    stream.set_write_timeout(patience).unwrap();
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
