/**
 * Sockets of a process, from /proc: how many file descriptors are sockets, and how many of those
 * are established TCP connections to a given port (the data plane's API server), found by matching
 * the socket inodes of /proc/<pid>/fd against /proc/<pid>/net/tcp and tcp6.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** TCP_ESTABLISHED is the state column of an established connection in /proc/net/tcp. */
const TCP_ESTABLISHED = '01';

/** socketInodes returns the inodes of the sockets a process holds open. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1]) inodes.add(m[1]);
  }
  return inodes;
}

/** TcpRow is one line of /proc/net/tcp: the remote port, the state and the socket's inode. */
export interface TcpRow {
  remotePort: number;
  state: string;
  inode: string;
}

/** parseTcpTable parses the text of /proc/net/tcp or tcp6 (the header line is skipped). */
export function parseTcpTable(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const remote = f[2];
    if (!remote || f.length < 10) continue;
    rows.push({
      remotePort: parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16),
      state: f[3] ?? '',
      inode: f[9] ?? '',
    });
  }
  return rows;
}

/** ProcessSockets counts a process's sockets. */
export interface ProcessSockets {
  /** sockets is the number of file descriptors that are sockets (TCP, Unix, ...). */
  sockets: number;
  /** tcpToPort is the number of its established TCP connections to the given remote port. */
  tcpToPort: number;
}

/** processSockets counts the sockets of `pid` and its established connections to `port`. */
export function processSockets(pid: number, port: number): ProcessSockets {
  const inodes = socketInodes(pid);
  let tcpToPort = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const row of parseTcpTable(text)) {
      if (row.remotePort === port && row.state === TCP_ESTABLISHED && inodes.has(row.inode)) tcpToPort++;
    }
  }
  return { sockets: inodes.size, tcpToPort };
}
