// MQTT.js in a real browser (Debian's Chromium, driven by playwright-core) against mqttd over ws:// and wss://.
//
//   node browser_test.mjs --broker PATH/TO/mqttd
//
// Makes a CA and server certificate with openssl in a temporary directory, serves page.html and the MQTT.js
// bundle from a local HTTP server, starts mqttd (tcp + ws + wss on loopback ports it picks itself; the ws/wss
// listeners allow only this page's Origin), and for each of ws:// and wss:// has the page:
//   - subscribe with a wildcard and receive what mosquitto_pub publishes over TCP;
//   - publish at QoS 1 and QoS 2 to a mosquitto_sub listening over TCP (checked against what it printed);
//   - get a retained message, RETAIN flag set, when it subscribes;
//   - round-trip 256 KiB of random bytes (SHA-256 compared in the page and by a TCP subscriber).
// [MQTT-6.0.0-1] binary frames and [MQTT-6.0.0-3] the "mqtt" subprotocol are the browser's and MQTT.js's doing;
// this test shows mqttd interoperates with them end to end.
//
// Exit status 0 on success, 1 on a failed check, 2 on a bad command line. Everything started here (mqttd,
// mosquitto clients, Chromium, the HTTP server) is stopped by PID or handle before exit. A screenshot of the
// results page is saved to artifacts/browser.png.

import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const TIME_LIMIT_MS = 85_000;
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                       "--disable-background-networking", "--disable-component-update", "--disable-sync",
                       "--ignore-certificate-errors"];
const BIG_PAYLOAD_BYTES = 256 * 1024;

// ------------------------------------------------------------------------------------------------ helpers

function log(...args) {
    console.log(`[${(performance.now() / 1000).toFixed(2)}s]`, ...args);
}

class CheckFailed extends Error {}

function check(condition, message) {
    if (!condition) throw new CheckFailed(message);
}

function sleep(ms) {
    return new Promise(resolve => setTimeout(resolve, ms));
}

// Resolves with true when promise settles within ms, false otherwise; leaves no timer behind.
function settlesWithin(promise, ms) {
    let timer;
    const timeout = new Promise(resolve => { timer = setTimeout(() => resolve(false), ms); });
    return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(predicate, ms, what) {
    const deadline = Date.now() + ms;
    while (!predicate()) {
        if (Date.now() > deadline) throw new CheckFailed(`timed out after ${ms} ms waiting for ${what}`);
        await sleep(25);
    }
}

function parseArgs(argv) {
    const i = argv.indexOf("--broker");
    if (i < 0 || !argv[i + 1]) {
        console.error("usage: node browser_test.mjs --broker PATH/TO/mqttd");
        process.exit(2);
    }
    return { broker: path.resolve(argv[i + 1]) };
}

// ----------------------------------------------------------------------------------------- certificates

function openssl(args, cwd) {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
}

// A CA and a server certificate for localhost / 127.0.0.1 / ::1, EC P-256, valid one day.
function makeCertificates(dir) {
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key"], dir);
    openssl(["req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "1", "-sha256",
             "-subj", "/O=mqttd tests/CN=mqttd browser test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "server.key"], dir);
    openssl(["req", "-new", "-key", "server.key", "-out", "server.csr", "-subj", "/O=mqttd tests/CN=localhost"], dir);
    fs.writeFileSync(path.join(dir, "server.ext"),
                     "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" +
                     "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "1",
             "-days", "1", "-sha256", "-extfile", "server.ext", "-out", "server.crt"], dir);
    return { ca: path.join(dir, "ca.crt"), cert: path.join(dir, "server.crt"), key: path.join(dir, "server.key") };
}

// ------------------------------------------------------------------------------------------- processes

const children = new Set();    // every child process still running, stopped by PID at exit

function startChild(cmd, args, options = {}) {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    children.add(child);
    child.output = "";
    child.stdout.on("data", d => { child.output += d.toString("latin1"); });
    child.stderr.on("data", d => { child.output += d.toString("latin1"); });
    child.exited = new Promise(resolve => child.once("exit", (code, signal) => {
        children.delete(child);
        child.exitCode_ = code;
        child.exitSignal_ = signal;
        resolve(code);
    }));
    child.once("error", err => { child.output += `\nspawn error: ${err.message}\n`; });
    return child;
}

async function stopChild(child, graceMs = 5000) {
    if (!children.has(child)) return;
    try { process.kill(child.pid, "SIGTERM"); } catch { return; }
    const stopped = await settlesWithin(child.exited, graceMs);
    if (!stopped) {
        try { process.kill(child.pid, "SIGKILL"); } catch { /* already gone */ }
        await child.exited;
    }
}

function killAllChildrenNow() {
    for (const child of children) {
        try { process.kill(child.pid, "SIGKILL"); } catch { /* already gone */ }
    }
}

// Starts mqttd with every listener on port 0 and returns [child, [port per listener]]. mqttd logs one
// "event=listening type=tcp addr=127.0.0.1:40123" line (IPv6: addr=[::1]:40123) per listener, in config order,
// then "event=started". No port is chosen before mqttd binds it, so parallel runs cannot race for one.
// (tests/harness/broker.py does the same for the Python suites.)
async function startBroker(brokerPath, dir, config) {
    const configPath = path.join(dir, "mqttd.json");
    fs.writeFileSync(configPath, "// written by tests/browser/browser_test.mjs\n" + JSON.stringify(config, null, 2));
    const broker = startChild(brokerPath, ["-c", configPath], { cwd: dir });
    const started = () => / event=started /.test(broker.output);
    await waitFor(() => started() || !children.has(broker), 10_000, "mqttd's event=started line")
        .catch(err => { throw new CheckFailed(`${err.message}; mqttd's log:\n${broker.output}`); });
    check(started(), `mqttd exited at start-up:\n${broker.output}`);
    const ports = [...broker.output.matchAll(/ event=listening type=\S+ addr=\S*:(\d+)/g)].map(m => Number(m[1]));
    check(ports.length === config.listeners.length,
          `${ports.length} event=listening lines for ${config.listeners.length} listeners:\n${broker.output}`);
    return [broker, ports];
}

function mosquittoPub(port, topic, message, extra = []) {
    return new Promise((resolve, reject) => {
        const pub = startChild("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-t", topic, "-m", message,
                                                 ...extra]);
        const timer = setTimeout(() => { process.kill(pub.pid, "SIGKILL"); }, 10_000);
        pub.exited.then(code => {
            clearTimeout(timer);
            code === 0 ? resolve() : reject(new CheckFailed(`mosquitto_pub ${topic} failed (${code}): ${pub.output}`));
        });
    });
}

// mosquitto_sub over TCP; resolves once the broker granted the subscription (-d prints "received SUBACK").
// stdbuf: mosquitto_sub's stdout is block-buffered on a pipe.
async function mosquittoSub(port, topic, args) {
    const sub = startChild("stdbuf", ["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", topic,
                                      "-d", ...args]);
    await waitFor(() => sub.output.includes("received SUBACK") || !children.has(sub), 10_000,
                  `mosquitto_sub SUBACK for ${topic}`);
    check(sub.output.includes("received SUBACK"), `mosquitto_sub ${topic} exited early:\n${sub.output}`);
    return sub;
}

// ---------------------------------------------------------------------------------------------- server

// Listens on a port the kernel picks (server.address().port).
function serveFiles() {
    const files = {
        "/": [path.join(here, "page.html"), "text/html; charset=utf-8"],
        "/page.html": [path.join(here, "page.html"), "text/html; charset=utf-8"],
        "/mqtt.min.js": [path.join(here, "node_modules/mqtt/dist/mqtt.min.js"), "text/javascript; charset=utf-8"],
    };
    const server = http.createServer((req, res) => {
        const pathname = new URL(req.url, "http://x").pathname;
        if (pathname === "/favicon.ico") {
            res.writeHead(204).end();
            return;
        }
        const file = files[pathname];
        if (!file) {
            res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
            return;
        }
        res.writeHead(200, { "content-type": file[1], "cache-control": "no-store" });
        fs.createReadStream(file[0]).pipe(res);
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
    });
}

// -------------------------------------------------------------------------------------------- the test

async function runChecks(page, transport, url, tcpPort) {
    const record = (name, ok, detail) =>
        page.evaluate(([t, n, o, d]) => window.mqttd.record(t, n, o, d), [transport, name, ok, detail]);
    const step = async (name, fn) => {
        try {
            const detail = await fn();
            await record(name, true, detail);
            log(`${transport}: ${name}: ok (${detail})`);
        } catch (err) {
            // page.evaluate appends the page's stack (minified MQTT.js): the first line says what failed.
            const reason = err instanceof CheckFailed ? err.message : err.message.split("\n")[0];
            await record(name, false, reason).catch(() => {});
            throw new CheckFailed(`${transport}: ${name}: ${reason}`);
        }
    };
    const base = `browser/${transport}`;

    await step("connect", async () => {
        const connack = await page.evaluate(([u, id]) => window.mqttd.connect(u, id), [url, `chromium-${transport}`]);
        return `${url} CONNACK, session present ${connack.sessionPresent}`;
    });

    await step("wildcard subscription gets mosquitto_pub's message (TCP)", async () => {
        const granted = await page.evaluate(([u, f]) => window.mqttd.subscribe(u, f, 1), [url, `${base}/from-tcp/+`]);
        check(granted[0] === 1, `SUBACK granted ${JSON.stringify(granted)}, wanted [1]`);
        const text = `hello ${transport} from mosquitto_pub`;
        await mosquittoPub(tcpPort, `${base}/from-tcp/greeting`, text, ["-q", "1"]);
        const msg = await page.evaluate(([u, t]) => window.mqttd.nextMessage(u, t), [url, `${base}/from-tcp/greeting`]);
        check(msg.text === text, `got ${JSON.stringify(msg.text)}, wanted ${JSON.stringify(text)}`);
        return `${base}/from-tcp/+ → ${msg.topic}: "${msg.text}" (QoS ${msg.qos})`;
    });

    await step("QoS 1 and QoS 2 publishes reach mosquitto_sub (TCP)", async () => {
        const sub = await mosquittoSub(tcpPort, `${base}/to-tcp/#`, ["-q", "2", "-v", "-C", "2"]);
        await page.evaluate(([u, t]) => window.mqttd.publish(u, t, "qos1 from the browser", 1), [url, `${base}/to-tcp/q1`]);
        await page.evaluate(([u, t]) => window.mqttd.publish(u, t, "qos2 from the browser", 2), [url, `${base}/to-tcp/q2`]);
        await settlesWithin(sub.exited, 10_000);
        const lines = sub.output.split("\n").filter(l => l.startsWith(`${base}/to-tcp/`));
        await stopChild(sub);
        const wanted = [`${base}/to-tcp/q1 qos1 from the browser`, `${base}/to-tcp/q2 qos2 from the browser`];
        check(JSON.stringify(lines) === JSON.stringify(wanted),
              `mosquitto_sub printed ${JSON.stringify(lines)}, wanted ${JSON.stringify(wanted)}\n${sub.output}`);
        const qos = [...sub.output.matchAll(/received PUBLISH \(d0, q(\d)/g)].map(m => m[1]).join(",");
        check(qos === "1,2", `mosquitto_sub received QoS ${qos}, wanted 1,2 [MQTT-3.8.4-6]`);
        return lines.join(" | ") + ` (received at QoS ${qos})`;
    });

    await step("retained message on subscribe, RETAIN set", async () => {
        const text = `retained for ${transport}`;
        await mosquittoPub(tcpPort, `${base}/retained`, text, ["-q", "1", "-r"]);
        await page.evaluate(([u, f]) => window.mqttd.subscribe(u, f, 1), [url, `${base}/retained`]);
        const msg = await page.evaluate(([u, t]) => window.mqttd.nextMessage(u, t), [url, `${base}/retained`]);
        check(msg.text === text, `got ${JSON.stringify(msg.text)}, wanted ${JSON.stringify(text)}`);
        check(msg.retain === true, "RETAIN flag not set on a retained message sent on subscribe [MQTT-3.3.1-8]");
        await mosquittoPub(tcpPort, `${base}/retained`, "", ["-q", "1", "-r"]);     // clear it again
        return `"${msg.text}" retain=${msg.retain}`;
    });

    await step("256 KiB random binary payload round trip", async () => {
        const topic = `${base}/binary`;
        const tcpSub = await mosquittoSub(tcpPort, topic, ["-q", "1", "-C", "1", "-F", "%x"]);
        await page.evaluate(([u, t]) => window.mqttd.subscribe(u, t, 1), [url, topic]);
        const r = await page.evaluate(([u, t, n]) => window.mqttd.binaryRoundTrip(u, t, n), [url, topic, BIG_PAYLOAD_BYTES]);
        check(r.length === BIG_PAYLOAD_BYTES, `received ${r.length} bytes, sent ${BIG_PAYLOAD_BYTES}`);
        check(r.sent === r.received, `SHA-256 differs: sent ${r.sent}, received ${r.received}`);
        await settlesWithin(tcpSub.exited, 10_000);
        await stopChild(tcpSub);
        const hexLine = tcpSub.output.split("\n").find(l => /^[0-9a-f]{1000,}$/.test(l.trim())) || "";
        const tcpHash = createHash("sha256").update(Buffer.from(hexLine.trim(), "hex")).digest("hex");
        check(tcpHash === r.sent, `the TCP subscriber got different bytes: SHA-256 ${tcpHash}, sent ${r.sent}`);
        return `${r.length} bytes, sha256 ${r.sent.slice(0, 16)}… equal in the browser and over TCP`;
    });

    await page.evaluate(u => window.mqttd.disconnect(u), url);
}

async function main() {
    const { broker: brokerPath } = parseArgs(process.argv.slice(2));
    check(fs.existsSync(brokerPath), `broker binary ${brokerPath} does not exist`);
    check(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (Debian package chromium; run.sh installs it)`);
    check(fs.existsSync(path.join(here, "node_modules/mqtt/dist/mqtt.min.js")),
          "node_modules/mqtt/dist/mqtt.min.js is missing: run `npm ci` in tests/browser (run.sh does)");
    const { chromium } = await import("playwright-core");

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mqttd-browser-"));
    const artifacts = path.join(here, "artifacts");
    fs.mkdirSync(artifacts, { recursive: true });
    const screenshot = path.join(artifacts, "browser.png");
    fs.rmSync(screenshot, { force: true });

    let broker, server, context;
    let ok = false;
    try {
        const certs = makeCertificates(tmp);
        // The page's origin goes into the ws/wss listeners' allowed_origins, so the HTTP server starts first.
        server = await serveFiles();
        const origin = `http://127.0.0.1:${server.address().port}`;
        log(`page served at ${origin}/page.html`);
        let tcpPort, wsPort, wssPort;
        [broker, [tcpPort, wsPort, wssPort]] = await startBroker(brokerPath, tmp, {
            listeners: [
                { type: "tcp", bind: "127.0.0.1", port: 0 },
                { type: "ws", bind: "127.0.0.1", port: 0, path: "/mqtt", allowed_origins: [origin] },
                { type: "wss", bind: "127.0.0.1", port: 0, path: "/mqtt", allowed_origins: [origin],
                  cert_file: certs.cert, key_file: certs.key },
            ],
            threads: 2,
            log_level: "debug",
        });
        log(`mqttd pid ${broker.pid}: tcp ${tcpPort}, ws ${wsPort}, wss ${wssPort}`);

        context = await chromium.launchPersistentContext(path.join(tmp, "chromium-profile"), {
            executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ignoreHTTPSErrors: true,
            viewport: { width: 1280, height: 720 }, timeout: 30_000,
        });
        const page = context.pages()[0] || await context.newPage();
        page.on("console", m => log(`page console.${m.type()}: ${m.text()}`));
        page.on("pageerror", e => log(`page error: ${e.message}`));
        await page.goto(`${origin}/page.html`, { timeout: 15_000 });
        const env = await page.evaluate(() => window.mqttd.environment());
        log(`browser: ${env.userAgent}`);
        check(env.mqttLoaded, "the MQTT.js bundle did not load in the page");

        try {
            await runChecks(page, "ws", `ws://127.0.0.1:${wsPort}/mqtt`, tcpPort);
            await runChecks(page, "wss", `wss://localhost:${wssPort}/mqtt`, tcpPort);
            ok = true;
            await page.evaluate(() => window.mqttd.finish("all checks passed over ws:// and wss://"));
        } finally {
            await page.setViewportSize({ width: 1280, height: 720 }).catch(() => {});
            await page.screenshot({ path: screenshot, fullPage: true }).catch(e => log(`no screenshot: ${e.message}`));
            log(`screenshot: ${screenshot}`);
        }
    } catch (err) {
        console.error(`FAIL: ${err instanceof CheckFailed ? err.message : err.stack}`);
        if (broker) console.error(`--- mqttd log (pid ${broker.pid}) ---\n${broker.output}`);
    } finally {
        if (context) await context.close().catch(() => {});
        if (server) await new Promise(resolve => { server.closeAllConnections(); server.close(resolve); });
        for (const child of [...children]) await stopChild(child);
        if (broker && broker.exitSignal_ === "SIGKILL") console.error("mqttd ignored SIGTERM for 5 s");
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    if (ok) log("PASS: MQTT.js in Chromium over ws:// and wss://");
    return ok ? 0 : 1;
}

const watchdog = setTimeout(() => {
    console.error(`FAIL: the test did not finish within ${TIME_LIMIT_MS / 1000} s`);
    killAllChildrenNow();
    process.exit(1);
}, TIME_LIMIT_MS);
watchdog.unref();
for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => { killAllChildrenNow(); process.exit(1); });
}

main().then(code => { process.exitCode = code; }, err => {
    console.error(err instanceof CheckFailed ? `FAIL: ${err.message}` : err);
    killAllChildrenNow();
    process.exitCode = 1;
});
