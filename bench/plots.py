"""compare.py --plots: throughput versus subscriber count (fan-out 1 -> 1, 10, 100, 1000 at QoS 0 and 1) and
broker memory versus idle connection count, for mqttd and Mosquitto, measured the way compare.py measures
everything else (fresh broker per run, medians of --rounds), drawn by gnuplot into bench/plots/*.png beside the
data (.dat) and the gnuplot scripts (.gp) that drew them."""

import datetime
import os
import shutil
import subprocess
import sys

PLOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plots")
SUBSCRIBERS = (1, 10, 100, 1000)
CONNECTIONS = (1000, 2000, 5000, 10000)


def scenario(name, **options):
    return {"label": " ".join([name] + [f"{k}={v}" for k, v in options.items()]), "name": name,
            "options": {k: str(v) for k, v in options.items()}}


def write_plot(name, title, xlabel, ylabel, columns, rows, logscale):
    with open(os.path.join(PLOTS, f"{name}.dat"), "w") as f:
        f.write("# " + " ".join(columns) + "\n")
        for row in rows:
            f.write(" ".join(f"{v:g}" for v in row) + "\n")
    lines = ["set terminal pngcairo size 900,560 font ',11'" if has_cairo() else "set terminal png size 900,560",
             f"set output '{name}.png'", f"set title \"{title}\"", f"set xlabel '{xlabel}'", f"set ylabel '{ylabel}'",
             "set grid", "set key top left", "set yrange [0:*]"]
    if logscale:
        lines.append("set logscale x 10")
    plot = ", ".join(f"'{name}.dat' using 1:{i + 2} with linespoints lw 2 title '{c}'"
                     for i, c in enumerate(columns[1:]))
    lines.append("plot " + plot)
    with open(os.path.join(PLOTS, f"{name}.gp"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["gnuplot", f"{name}.gp"], cwd=PLOTS, check=True, timeout=60)


def has_cairo():
    probe = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True, timeout=30)
    return "pngcairo" in probe.stdout + probe.stderr


def draw(args, measure_all, median):
    if shutil.which("gnuplot") is None:
        sys.exit("compare --plots: needs gnuplot (apt-get install gnuplot-nox)")
    os.makedirs(PLOTS, exist_ok=True)
    stamp = f"{datetime.date.today()}, {os.cpu_count()} cores, medians of {args.rounds} rounds"

    fanouts = [scenario("fanout", qos=q, subscribers=n) for q in (0, 1) for n in SUBSCRIBERS]
    results = measure_all(fanouts, args)
    rows = []
    for n in SUBSCRIBERS:
        row = [n]
        for q in (0, 1):
            label = scenario("fanout", qos=q, subscribers=n)["label"]
            row += [median(results, label, kind, "rate") for kind in ("mqttd", "mosquitto")]
        rows.append(row)
    write_plot("fanout_throughput", f"fan-out 1 -> N: messages delivered per second ({stamp})", "subscribers",
               "deliveries / s", ["subscribers", "mqttd QoS 0", "mosquitto QoS 0", "mqttd QoS 1", "mosquitto QoS 1"],
               rows, True)

    conns = [scenario("conns", connections=n) for n in CONNECTIONS]
    results = measure_all(conns, args)
    rows = [[n] + [median(results, scenario("conns", connections=n)["label"], kind, "rss_mib")
                   for kind in ("mqttd", "mosquitto")] for n in CONNECTIONS]
    write_plot("memory_per_connections", f"broker RSS with N idle TCP connections ({stamp})", "connections",
               "RSS, MiB", ["connections", "mqttd", "mosquitto"], rows, False)
    print(f"\nplots: {PLOTS}/fanout_throughput.png, {PLOTS}/memory_per_connections.png")
