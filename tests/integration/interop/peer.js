'use strict';
// peer.js — third-party MLLP peers against Causeway (it_mllp_interop.sh).
//
//   node peer.js node-hl7-client-send PORT DIR   send every DIR/*.msg with node-hl7-client
//   node peer.js simple-hl7-send PORT DIR        the same with simple-hl7's TCP client
//   node peer.js simple-hl7-server PORTFILE      run simple-hl7's TCP server on a free
//                                                loopback-reachable port (written to PORTFILE),
//                                                ACK AA to everything, print a count on SIGTERM
//
// A sender prints one line "peer=... sent=N acks=N aa=N other=N mismatch=N"
// and exits 0 only when every message got an ACK whose MSA-2 is its MSH-10.
// Messages are read from files written by the test (segments end in \r).
const fs = require('fs');
const path = require('path');

function messageFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.msg')).sort();
}

function loadMessages(dir) {
  return messageFiles(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
}

// MSH-10 and MSA-1/MSA-2 read with plain string splitting (the test's own bookkeeping).
function field(text, seg, n) {
  const lines = text.split(/\r\n|\r|\n/);
  const fs0 = text.charAt(3);
  for (const l of lines) {
    if (l.startsWith(seg + fs0)) {
      const parts = l.split(fs0);
      return seg === 'MSH' ? (parts[n - 1] || '') : (parts[n] || '');
    }
  }
  return null;
}

function summary(peer, sent, results) {
  const aa = results.filter((r) => r === 'AA').length;
  const mismatch = results.filter((r) => r === 'MISMATCH').length;
  const other = results.length - aa - mismatch;
  console.log(`peer=${peer} sent=${sent} acks=${results.length} aa=${aa} other=${other} mismatch=${mismatch}`);
  // 0: every message got an ACK for its own control id (the shell decides
  // whether codes other than AA are expected); 1 otherwise.
  return results.length === sent && mismatch === 0 && results.every((r) => r !== 'NONE') ? 0 : 1;
}

function judge(msg, ackText, standardDelimsOnly) {
  // Our ACK mirrors the inbound delimiters (HL7 v2.5.1 2.14.1); a peer whose
  // parser only knows |^~\& cannot read such an ACK. Counted apart.
  if (standardDelimsOnly && !msg.startsWith('MSH|^~\\&') && field(ackText, 'MSA', 2) == null) {
    console.error(`peer-cannot-read: MSH-10 ${JSON.stringify(field(msg, 'MSH', 10))} (delimiters ${JSON.stringify(msg.slice(3, 8))})`);
    return 'PEER-CANNOT-READ';
  }
  const code = (field(ackText, 'MSA', 1) || '').split('^')[0];
  const ctl = field(ackText, 'MSA', 2);
  if (ctl !== field(msg, 'MSH', 10)) {
    // Control ids only (no PHI), so the shell test can say which one.
    console.error(`mismatch: sent MSH-10 ${JSON.stringify(field(msg, 'MSH', 10))}, ACK MSA-2 ${JSON.stringify(ctl)}`);
    return 'MISMATCH';
  }
  return code;
}

async function nodeHl7ClientSend(port, dir) {
  const { Client, Message } = require('node-hl7-client');
  const names = messageFiles(dir);
  const msgs = loadMessages(dir);
  const results = [];
  let waiting = null; // resolves with the ACK text of the message in flight
  const client = new Client({ host: '127.0.0.1' });
  const conn = client.createConnection({ port, waitAck: true }, async (res) => {
    if (waiting) waiting(res.getMessage().toString());
  });
  // Sending before the socket is up makes this client open two sockets and
  // lose the first message, so wait for 'connect' first.
  await new Promise((resolve, reject) => {
    conn.once('connect', resolve);
    conn.once('client.error', reject);
    setTimeout(() => reject(new Error('no connection')), 10000);
  });
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    let parsed;
    try {
      parsed = new Message({ text: m });
    } catch (e) {
      // The client library cannot build it (its own parser): not sent.
      console.log(`client-refused=${names[i]} (${e.message})`);
      results.push('CLIENT-REFUSED');
      continue;
    }
    const ack = await new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), 30000);
      waiting = (text) => { clearTimeout(t); resolve(text); };
      conn.sendMessage(parsed).catch(() => { clearTimeout(t); resolve(null); });
    });
    results.push(ack ? judge(m, ack) : 'NONE');
  }
  await conn.close();
  const refused = results.filter((r) => r === 'CLIENT-REFUSED').length;
  if (refused) console.error(`node-hl7-client could not build ${refused} message(s) (its own parser)`);
  return summary('node-hl7-client', msgs.length - refused, results.filter((r) => r !== 'CLIENT-REFUSED'));
}

async function simpleHl7Send(port, dir) {
  const hl7 = require('simple-hl7');
  const msgs = loadMessages(dir);
  const client = hl7.Server.createTcpClient({ host: '127.0.0.1', port, keepalive: true });
  const results = [];
  for (const m of msgs) {
    const ack = await new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), 30000);
      client.send(m, (err, a) => { clearTimeout(t); resolve(err ? null : a); });
    });
    results.push(ack ? judge(m, ack.toString(), true) : 'NONE');
  }
  client.close();
  const unreadable = results.filter((r) => r === 'PEER-CANNOT-READ').length;
  if (unreadable) console.log(`peer-cannot-read=${unreadable}`);
  return summary('simple-hl7', msgs.length, results);
}

function simpleHl7Server(portFile) {
  const hl7 = require('simple-hl7');
  const net = require('net');
  let received = 0;
  const app = hl7.tcp();
  app.use((req, res, next) => { received++; next(); });
  app.use((req, res) => res.end());
  app.use((err, req, res, next) => { console.error('simple-hl7 server error:', err && err.message); });
  // Bind to loopback only (simple-hl7's start() would bind every interface).
  const origListen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (port, ...rest) { return origListen.call(this, port, '127.0.0.1', ...rest); };
  app.start(0);
  net.Server.prototype.listen = origListen;
  const srv = app.server.server; // TcpServer -> net.Server
  srv.on('listening', () => fs.writeFileSync(portFile, String(srv.address().port)));
  process.on('SIGTERM', () => { console.log(`simple-hl7-server received=${received}`); process.exit(0); });
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'node-hl7-client-send') nodeHl7ClientSend(Number(a), b).then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(2); });
else if (mode === 'simple-hl7-send') simpleHl7Send(Number(a), b).then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(2); });
else if (mode === 'simple-hl7-server') simpleHl7Server(a);
else { console.error('usage: peer.js MODE ...'); process.exit(2); }
