-- wrk script of bench/http.sh: no request() or response() hook, so wrk
-- keeps its fast path (one pre-built request, bodies not handed to Lua);
-- only done(), which prints the run's summary in lines http.sh parses:
--
--   wrk requests N duration_us D bytes B
--   wrk latency_us p50 A p90 B p99 C max M
--   wrk errors connect C read R write W status S timeout T
--
-- bytes is everything wrk read (status lines, headers and bodies, and the
-- part of any response still in flight at the end); latencies are in
-- microseconds, from wrk's histogram of the completed requests.
done = function(summary, latency, requests)
	io.write(string.format("wrk requests %d duration_us %d bytes %d\n",
		summary.requests, summary.duration, summary.bytes))
	io.write(string.format("wrk latency_us p50 %d p90 %d p99 %d max %d\n",
		latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max))
	local e = summary.errors
	io.write(string.format(
		"wrk errors connect %d read %d write %d status %d timeout %d\n",
		e.connect, e.read, e.write, e.status, e.timeout))
end
