using Prometheus;

namespace CallMedia.Hosting;

/// <summary>How a body was sent, for <see cref="CallMediaMetrics.BytesSent"/>.</summary>
public enum SentKind
{
    File,
    Zip,
    Transcode,
}

/// <summary>The background work <see cref="CallMediaMetrics"/> counts.</summary>
public enum JobKind
{
    Transcode,
    Prepare,
}

/// <summary>
/// CallMedia's own counters and gauges, exported on <c>/metrics</c> next to the HTTP request metrics as
/// <c>callmedia_tokens_issued</c>, <c>callmedia_bytes_sent{kind}</c> ... (prometheus-net's own types: counters are
/// counters, kept from the process's start whether or not anything scraped yet). Features call these; each call is an
/// atomic add and never throws. Job gauges count this node's work. One set per process (the default registry), shared
/// by every server a process hosts.
/// </summary>
public sealed class CallMediaMetrics
{
    private static readonly Counter TokensIssued = Metrics.CreateCounter("callmedia_tokens_issued", "Tokens issued.", Plain());

    private static readonly Counter TokensRedeemed = Metrics.CreateCounter(
        "callmedia_tokens_redeemed", "Tokens redeemed (first use; range requests under the lease are not counted).", Plain());

    private static readonly Counter BytesSentByKind = Metrics.CreateCounter(
        "callmedia_bytes_sent", "Response body bytes sent, by kind: file, zip, transcode.", Plain("kind"));

    private static readonly Gauge JobsQueued = Metrics.CreateGauge("callmedia_jobs_queued", "Transcodes and prepare jobs waiting on this node, by kind.", "kind");

    private static readonly Gauge JobsRunning = Metrics.CreateGauge("callmedia_jobs_running", "Transcodes and prepare jobs running on this node, by kind.", "kind");

    private static readonly Counter JobsFailed = Metrics.CreateCounter("callmedia_jobs_failed", "Transcodes and prepare jobs that failed, by kind.", Plain("kind"));

    private static readonly Counter DatabaseErrors = Metrics.CreateCounter("callmedia_database_errors", "Requests that failed on a database error.", Plain());

    // Every label value known at once (exported as 0 from the start), and no label lookup per call.
    private static readonly Counter.Child[] Sent = [BytesSentByKind.WithLabels("file"), BytesSentByKind.WithLabels("zip"), BytesSentByKind.WithLabels("transcode")];
    private static readonly Gauge.Child[] Queued = [JobsQueued.WithLabels("transcode"), JobsQueued.WithLabels("prepare")];
    private static readonly Gauge.Child[] Running = [JobsRunning.WithLabels("transcode"), JobsRunning.WithLabels("prepare")];
    private static readonly Counter.Child[] Failed = [JobsFailed.WithLabels("transcode"), JobsFailed.WithLabels("prepare")];

    public void TokenIssued() => TokensIssued.Inc();

    /// <summary>
    /// A counter without exemplars: prometheus-net would otherwise make one from the request's trace on every count,
    /// for the OpenMetrics format, which <c>/metrics</c> does not serve.
    /// </summary>
    private static CounterConfiguration Plain(params string[] labels) => new() { LabelNames = labels, ExemplarBehavior = ExemplarBehavior.NoExemplars() };

    /// <summary>A token was admitted: its redemption when first used, a range request under its lease otherwise (not counted).</summary>
    public void TokenAdmitted(bool firstUse)
    {
        if (firstUse)
        {
            TokensRedeemed.Inc();
        }
    }

    public void BytesSent(SentKind kind, long bytes) => Sent[Index(kind)].Inc(bytes);

    public void JobQueued(JobKind kind) => Queued[Index(kind)].Inc();

    /// <summary>A job left the queue and started (call <see cref="JobQueued"/> first, or this only counts it running).</summary>
    public void JobStarted(JobKind kind, bool wasQueued = true)
    {
        if (wasQueued)
        {
            Queued[Index(kind)].Dec();
        }

        Running[Index(kind)].Inc();
    }

    public void JobFinished(JobKind kind, bool failed)
    {
        Running[Index(kind)].Dec();
        if (failed)
        {
            Failed[Index(kind)].Inc();
        }
    }

    /// <summary>A job failed (counted apart from <see cref="JobFinished"/>, where the runner learns of it).</summary>
    public void JobFailed(JobKind kind) => Failed[Index(kind)].Inc();

    public void DatabaseError() => DatabaseErrors.Inc();

    private static int Index(SentKind kind) => kind switch
    {
        SentKind.File => 0,
        SentKind.Zip => 1,
        _ => 2,
    };

    private static int Index(JobKind kind) => kind == JobKind.Transcode ? 0 : 1;
}
