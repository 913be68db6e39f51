//! The accept loop and connections: [`serve`] runs one event loop per thread on the
//! same listener, each accepting, holding a place in the connection caps (all clients
//! and per client), serving HTTP/1.1 on its own thread, and stopping gracefully.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;

use super::{Limits, State, clients, dispatch};

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops accepting and
/// lets requests in progress finish (at most `limits.shutdown_grace`).
///
/// Like nginx's worker processes, `threads` event loops (each a single-threaded tokio
/// runtime) accept from the same socket and keep each connection on the loop that
/// accepted it, so no task or wake-up ever crosses threads. Rebuilds run elsewhere (the
/// watcher thread), so a slow build never delays a request.
pub fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    limits: Limits,
    threads: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let clients = clients::Clients::new(limits.max_connections_per_client);
    let mut workers = Vec::new();
    for n in 1..threads.max(1) {
        let listener = listener.try_clone()?;
        let state = Arc::clone(&state);
        let permits = Arc::clone(&permits);
        let clients = Arc::clone(&clients);
        let stopped = stopped.clone();
        let worker = std::thread::Builder::new()
            .name(format!("glassroom-http-{n}"))
            .spawn(move || -> std::io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let held = Held { permits, clients };
                runtime.block_on(accept_loop(listener, state, limits, held, stopped))
            })?;
        workers.push(worker);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let held = Held { permits, clients };
        let (_, served) = tokio::join!(signal, accept_loop(listener, state, limits, held, stopped));
        served
    });
    for worker in workers {
        match worker.join() {
            Ok(Err(err)) => return Err(err),
            Ok(Ok(())) => {}
            Err(_) => return Err(std::io::Error::other("an HTTP worker thread failed")),
        }
    }
    result
}

/// What the event loops share about the connections they hold: the cap on all of them,
/// and the count per client.
struct Held {
    permits: Arc<tokio::sync::Semaphore>,
    clients: Arc<clients::Clients>,
}

/// One event loop: accept, serve each connection on this thread, stop when told.
async fn accept_loop(
    listener: std::net::TcpListener,
    state: Arc<State>,
    limits: Limits,
    held: Held,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let Held { permits, clients } = held;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        // From the connection's start and between requests: a connection that sends no
        // request head is closed after `idle_timeout`.
        .header_read_timeout(limits.idle_timeout.min(limits.timeout))
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true)
        // One buffer and write(2) per response instead of writev(2): measured faster
        // for the small responses (304s, JSON) that dominate.
        .writev(false);
    let graceful = GracefulShutdown::new();
    let stop = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors or a connection reset before accept:
                    // nothing to do but try again in a moment.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // A client over its limit is closed at once, with a reset (no FIN handshake and
        // no TIME_WAIT left here), before anything is read or set up for it.
        let Some(admitted) = clients.admit(peer.ip()) else {
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            drop(stream);
            drop(permit);
            if let Some(refused) = clients.refusals_to_report() {
                state.console.warning(&format!(
                    "closing new connections from clients that already hold {} ({} among them; {refused} closed since the last such warning); behind a reverse proxy, raise --max-connections-per-client",
                    clients.limit(),
                    clients::describe(peer.ip())
                ));
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        // hyper's header timeout covers slow and idle clients (it also runs between
        // requests on a kept-alive connection). A client that stops reading our
        // response is dropped by the kernel: TCP_USER_TIMEOUT also bounds how long
        // the peer may keep its window shut. Neither costs anything per request,
        // unlike a timer around every read and write.
        let _ = socket2::SockRef::from(&stream).set_tcp_user_timeout(Some(limits.timeout));
        let io = TokioIo::new(stream);
        let state = Arc::clone(&state);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let state = Arc::clone(&state);
            async move { Ok::<_, std::convert::Infallible>(dispatch(state, request).await) }
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(admitted);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {}
    }
    Ok(())
}
