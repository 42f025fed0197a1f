/**
 * Networking for many clusters: each cluster listens on its own 127.0.0.1 port (a plain TCP
 * server, cheap while idle). Its TLS context is built on the first connection, and decrypted
 * connections are handed to one shared HTTP/1.1 server.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { VirtualCluster } from '../cluster/cluster';
import { ClusterHttp } from './http';
import { PeerLog, type PeerRecord } from './peers';

interface Endpoint {
  cluster: VirtualCluster;
  http: ClusterHttp;
  net: NetServer;
  tls?: TlsServer;
  sockets: Set<Socket>;
  held: Set<Socket>;
  listening: boolean;
  /** Set while the cluster's peers are recorded. */
  peers?: PeerLog;
}

export class Network {
  private readonly http: HttpServer;
  private readonly bySocket = new WeakMap<object, Endpoint>();
  private readonly endpoints = new Map<VirtualCluster, Endpoint>();

  constructor() {
    this.http = createHttpServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => this.onRequest(req, res));
    // kube-apiserver's secure server closes idle connections after 90 s (http.Server IdleTimeout).
    this.http.keepAliveTimeout = 90_000;
    // exec, attach and port-forward upgrade the connection to WebSocket or SPDY/3.1
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const ep = this.bySocket.get(req.socket);
      if (!ep) return void socket.destroy();
      void ep.http.handleUpgrade(req, socket, head);
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const ep = this.bySocket.get(req.socket);
    if (!ep) {
      res.destroy();
      return;
    }
    void ep.http.handle(req, res);
  }

  private tlsFor(ep: Endpoint): TlsServer {
    if (!ep.tls) {
      const c = ep.cluster;
      ep.tls = createTlsServer({ key: c.pki.serverKeyPem, cert: c.pki.serverCertPem, ca: c.pki.caPem, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
      ep.tls.on('secureConnection', (s: TLSSocket) => {
        this.bySocket.set(s, ep);
        ep.sockets.add(s);
        s.on('close', () => ep.sockets.delete(s));
        this.http.emit('connection', s);
      });
      ep.tls.on('tlsClientError', () => undefined);
    }
    return ep.tls;
  }

  async add(cluster: VirtualCluster, port = 0): Promise<void> {
    const ep: Endpoint = { cluster, http: new ClusterHttp(cluster), net: createNetServer(), sockets: new Set(), held: new Set(), listening: false };
    ep.net.on('connection', (sock: Socket) => {
      sock.on('error', () => undefined);
      ep.peers?.add(sock.remoteAddress, sock.remotePort, cluster.port);
      if (cluster.mode === 'hang') {
        ep.held.add(sock);
        sock.on('close', () => ep.held.delete(sock));
        return;
      }
      ep.sockets.add(sock);
      sock.on('close', () => ep.sockets.delete(sock));
      let tls: TlsServer;
      try {
        tls = this.tlsFor(ep);
      } catch {
        // TLS material Node refuses must never take the whole emulator down: drop this connection.
        sock.destroy();
        return;
      }
      tls.emit('connection', sock);
    });
    this.endpoints.set(cluster, ep);
    await this.listen(ep, port);
  }

  private listen(ep: Endpoint, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      ep.net.once('error', onError);
      ep.net.listen({ host: '127.0.0.1', port, backlog: 64 }, () => {
        ep.net.off('error', onError);
        const addr = ep.net.address();
        if (addr && typeof addr === 'object') ep.cluster.port = addr.port;
        ep.listening = true;
        resolve();
      });
    });
  }

  private closeListener(ep: Endpoint): Promise<void> {
    if (!ep.listening) return Promise.resolve();
    ep.listening = false;
    return new Promise((resolve) => ep.net.close(() => resolve()));
  }

  private dropConnections(ep: Endpoint): void {
    for (const fn of ep.http.watchClosers) fn();
    for (const s of ep.sockets) s.destroy();
    for (const s of ep.held) s.destroy();
    ep.sockets.clear();
    ep.held.clear();
  }

  /** Starts recording the cluster's TCP peers afresh (and their processes, when asked). */
  recordPeers(cluster: VirtualCluster, withProcesses: boolean): void {
    const ep = this.endpoints.get(cluster);
    if (ep) ep.peers = new PeerLog(withProcesses);
  }

  /** The peers recorded since recordPeers, oldest first; [] when not recording. */
  peers(cluster: VirtualCluster): PeerRecord[] {
    return [...(this.endpoints.get(cluster)?.peers?.records ?? [])];
  }

  /** Connections are refused (the port stops listening) and open ones are reset. */
  async down(cluster: VirtualCluster): Promise<void> {
    const ep = this.endpoints.get(cluster);
    if (!ep) return;
    cluster.mode = 'down';
    this.dropConnections(ep);
    await this.closeListener(ep);
  }

  /** New connections are accepted but never answered (no TLS handshake); open requests hang. */
  hang(cluster: VirtualCluster): void {
    cluster.mode = 'hang';
  }

  async up(cluster: VirtualCluster): Promise<void> {
    const ep = this.endpoints.get(cluster);
    if (!ep) return;
    const wasHanging = cluster.mode === 'hang';
    cluster.mode = 'up';
    if (wasHanging) for (const s of ep.held) s.destroy();
    if (!ep.listening) await this.listen(ep, cluster.port);
  }

  async remove(cluster: VirtualCluster): Promise<void> {
    const ep = this.endpoints.get(cluster);
    if (!ep) return;
    this.endpoints.delete(cluster);
    this.dropConnections(ep);
    await this.closeListener(ep);
    cluster.stopTimers();
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints.keys()].map((c) => this.remove(c)));
    this.http.closeAllConnections();
    this.http.close();
  }
}
