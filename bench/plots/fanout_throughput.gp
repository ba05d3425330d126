set terminal pngcairo size 900,560 font ',11'
set output 'fanout_throughput.png'
set title "fan-out 1 -> N: messages delivered per second (2026-12-02, 2 cores, medians of 3 rounds)"
set xlabel 'subscribers'
set ylabel 'deliveries / s'
set grid
set key top left
set yrange [0:*]
set logscale x 10
plot 'fanout_throughput.dat' using 1:2 with linespoints lw 2 title 'mqttd QoS 0', 'fanout_throughput.dat' using 1:3 with linespoints lw 2 title 'mosquitto QoS 0', 'fanout_throughput.dat' using 1:4 with linespoints lw 2 title 'mqttd QoS 1', 'fanout_throughput.dat' using 1:5 with linespoints lw 2 title 'mosquitto QoS 1'
