-- Prints exact latency percentiles (microseconds) for the bench parser.
done = function(summary, latency, requests)
  io.write(string.format("P50 %d\nP99 %d\nP999 %d\n", latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
