import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { eventually } from '@flotilla/testing';
import { KubeEmulator } from './emulator';

describe('recorded peers', () => {
  let emu: KubeEmulator;
  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
  });
  afterAll(async () => {
    await emu.stop();
  });

  /** The peers once `n` are recorded (the child process must start first). */
  const peersOf = (h: Awaited<ReturnType<KubeEmulator['addCluster']>>, n: number) =>
    eventually(() => {
      expect(h.peers().length).toBeGreaterThanOrEqual(n);
      return h.peers();
    });

  it('records each peer with its port and, on Linux, its process', async () => {
    const h = await emu.addCluster({ flavour: 'kubeadm' });
    expect(h.peers()).toEqual([]);
    h.recordPeers({ processes: process.platform === 'linux' });
    const own = connect(h.port, '127.0.0.1');
    await new Promise((r) => own.once('connect', r));
    const ownPort = own.localPort;
    const child = spawn(process.execPath, ['-e', `const s=require('net').connect(${h.port},'127.0.0.1',()=>setTimeout(()=>s.destroy(),1000));`]);
    const peers = await peersOf(h, 2);
    own.destroy();
    expect(peers).toHaveLength(2);
    expect(peers[0]).toMatchObject({ address: '127.0.0.1', port: ownPort });
    if (process.platform === 'linux') expect(peers.map((p) => p.pid)).toEqual([process.pid, child.pid]);
    await new Promise((r) => child.once('exit', r));
  });
});
