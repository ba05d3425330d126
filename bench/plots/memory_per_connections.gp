set terminal pngcairo size 900,560 font ',11'
set output 'memory_per_connections.png'
set title "broker RSS with N idle TCP connections (2026-12-02, 2 cores, medians of 3 rounds)"
set xlabel 'connections'
set ylabel 'RSS, MiB'
set grid
set key top left
set yrange [0:*]
plot 'memory_per_connections.dat' using 1:2 with linespoints lw 2 title 'mqttd', 'memory_per_connections.dat' using 1:3 with linespoints lw 2 title 'mosquitto'
