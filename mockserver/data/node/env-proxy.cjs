// Preload for Node runtimes whose `https` module ignores HTTPS_PROXY (before NODE_USE_ENV_PROXY):
//   NODE_OPTIONS="--require /path/to/env-proxy.cjs" HTTPS_PROXY=http://127.0.0.1:8080 node app.js
// Every `https` request made through the default agent is tunnelled with CONNECT through the
// proxy named by HTTPS_PROXY (or https_proxy); the application's code stays as it is.
"use strict";
const http = require("node:http");
const https = require("node:https");
const tls = require("node:tls");

const proxyUrl = process.env.HTTPS_PROXY || process.env.https_proxy;

class TunnellingAgent extends https.Agent {
  constructor(proxy, options) {
    super(options);
    this.proxy = proxy;
  }

  createConnection(options, done) {
    const target = `${options.host}:${options.port || 443}`;
    const connect = http.request({
      host: this.proxy.hostname,
      port: this.proxy.port || 80,
      method: "CONNECT",
      path: target,
      headers: { Host: target },
    });
    connect.once("connect", (reply, socket) => {
      if (reply.statusCode !== 200) {
        socket.destroy();
        done(new Error(`proxy ${this.proxy.host} refused CONNECT ${target}: ${reply.statusCode}`));
        return;
      }
      const servername = options.servername || options.host;
      done(null, tls.connect({ ...options, socket, servername }));
    });
    connect.once("error", done);
    connect.end();
  }
}

if (proxyUrl) {
  https.globalAgent = new TunnellingAgent(new URL(proxyUrl), { keepAlive: true });
}
