// benchmarks/compare_ws: each VU opens a session on an echo server and sends
// MSGS messages, one at a time (the next when the last came back), then closes.
// The same script for k6 and loadkit.
import ws from 'k6/ws';

const msgs = Number(__ENV.MSGS || 1000);

export default function () {
  ws.connect(__ENV.URL, function (socket) {
    let n = 0;
    socket.on('open', () => socket.send('hello, world'));
    socket.on('message', () => {
      if (++n >= msgs) socket.close(1000);
      else socket.send('hello, world');
    });
  });
}
