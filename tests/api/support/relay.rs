//! A TCP relay between Roster and its PostgreSQL server that a test can cut and
//! mend: cut, it closes every relayed connection and closes each new one as soon
//! as it is accepted, as a stopped database server would be seen.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Relays connections on a loopback port to `target` while mended.
pub struct Relay {
    pub address: SocketAddr,
    cut: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let address = listener.local_addr().expect("relay address");
        let (cut, watching) = watch::channel(false);
        let target: Arc<str> = target.into();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watching.borrow() {
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, target.clone(), watching.clone()));
            }
        });
        Relay { address, cut, task }
    }

    /// Closes every relayed connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Relays new connections again.
    pub fn mend(&self) {
        self.cut.send_replace(false);
    }

    /// `database_url` with its `host:port` replaced by the relay's.
    pub fn url_through(&self, database_url: &str) -> String {
        let (scheme, rest) = database_url.split_once("://").expect("a URL");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let user = authority.rsplit_once('@').map(|(user, _)| user);
        match user {
            Some(user) => format!("{scheme}://{user}@{}{path}", self.address),
            None => format!("{scheme}://{}{path}", self.address),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

/// `host:port` of a `postgres://` URL.
pub fn host_and_port(database_url: &str) -> String {
    let rest = database_url.split_once("://").expect("a URL").1;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

async fn relay(mut client: TcpStream, target: Arc<str>, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&*target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
    // Dropping both ends closes them: Roster sees its connection end.
}
