//! RTP/RTCP port pairs: even RTP port, RTCP on the next one (RFC 3550 §11).

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::RuntimeError;

#[derive(Debug)]
struct Pool {
    in_use: BTreeSet<u16>,
    /// Next RTP port to try: allocation is round-robin so a freed port is reused last,
    /// which keeps stray packets of an ended call away from a new one.
    cursor: u16,
}

/// Hands out even RTP ports of `lo..=hi` (RTCP = RTP + 1), bound on the IP address given to
/// [`allocate`](Self::allocate). Ports come back when the [`LegSockets`] holding them (or the
/// leg task that took them) are dropped. Ports taken by other processes are skipped.
///
/// Cheap to clone; clones share one pool, so no `Mutex` is needed around it.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    /// First and last usable RTP (even) port.
    first: u16,
    last: u16,
    pool: Arc<Mutex<Pool>>,
}

impl PortAllocator {
    /// An allocator for RTP ports in `lo..=hi`; both ports of a pair must fit in the range.
    pub fn new(lo: u16, hi: u16) -> Result<Self, RuntimeError> {
        let first = lo
            .checked_add(lo % 2)
            .ok_or(RuntimeError::InvalidPortRange { lo, hi })?;
        let last_rtcp = if hi % 2 == 1 { hi } else { hi.saturating_sub(1) };
        let last = last_rtcp.saturating_sub(1);
        if first == 0 || last_rtcp == 0 || first > last {
            return Err(RuntimeError::InvalidPortRange { lo, hi });
        }
        let pool = Pool {
            in_use: BTreeSet::new(),
            cursor: first,
        };
        Ok(Self {
            first,
            last,
            pool: Arc::new(Mutex::new(pool)),
        })
    }

    /// Number of port pairs in the range.
    pub fn capacity(&self) -> usize {
        usize::from((self.last - self.first) / 2 + 1)
    }

    /// Number of pairs currently handed out.
    pub fn in_use(&self) -> usize {
        self.lock().in_use.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves the next pair not handed out, advancing the cursor.
    fn reserve(&self, tried: &mut usize) -> Option<u16> {
        let mut pool = self.lock();
        while *tried < self.capacity() {
            let port = pool.cursor;
            pool.cursor = if port >= self.last { self.first } else { port + 2 };
            *tried += 1;
            if pool.in_use.insert(port) {
                return Some(port);
            }
        }
        None
    }

    /// Binds the next free pair on `ip`. Synchronous, and needs no runtime: the sockets join
    /// tokio in [`spawn_leg`](crate::spawn_leg).
    pub fn allocate(&self, ip: IpAddr) -> Result<LegSockets, RuntimeError> {
        let mut tried = 0;
        while let Some(port) = self.reserve(&mut tried) {
            let lease = PortLease {
                pool: Arc::clone(&self.pool),
                port,
            };
            match bind_pair(ip, port) {
                Ok((rtp, rtcp)) => {
                    return Ok(LegSockets {
                        rtp,
                        rtcp,
                        _lease: Some(lease),
                    });
                }
                Err((_, e)) if e.kind() == io::ErrorKind::AddrInUse => {
                    tracing::debug!(port, "RTP port pair taken by another process, skipping");
                    // `lease` drops here and frees the reservation.
                }
                Err((port, source)) => return Err(RuntimeError::Bind { ip, port, source }),
            }
        }
        Err(RuntimeError::PortsExhausted {
            ip,
            lo: self.first,
            hi: self.last + 1,
        })
    }
}

fn bind_pair(ip: IpAddr, port: u16) -> Result<(UdpSocket, UdpSocket), (u16, io::Error)> {
    let bind = |port: u16| {
        let socket = UdpSocket::bind(SocketAddr::new(ip, port))?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    };
    let rtp = bind(port).map_err(|e| (port, e))?;
    let rtcp = bind(port + 1).map_err(|e| (port + 1, e))?;
    Ok((rtp, rtcp))
}

/// Returns its port pair to the pool when dropped.
#[derive(Debug)]
pub(crate) struct PortLease {
    pool: Arc<Mutex<Pool>>,
    port: u16,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .in_use
            .remove(&self.port);
    }
}

/// The RTP and RTCP sockets of one leg (bound, non-blocking, not yet registered with tokio).
/// Dropping them frees their ports.
#[derive(Debug)]
pub struct LegSockets {
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    pub(crate) _lease: Option<PortLease>,
}

impl LegSockets {
    /// Sockets bound elsewhere (not from a [`PortAllocator`]); they are made non-blocking.
    pub fn from_sockets(rtp: UdpSocket, rtcp: UdpSocket) -> io::Result<Self> {
        rtp.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        Ok(Self {
            rtp,
            rtcp,
            _lease: None,
        })
    }

    pub fn local_rtp_addr(&self) -> io::Result<SocketAddr> {
        self.rtp.local_addr()
    }

    pub fn local_rtcp_addr(&self) -> io::Result<SocketAddr> {
        self.rtcp.local_addr()
    }
}
