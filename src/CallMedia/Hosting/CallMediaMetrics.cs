using System.Diagnostics.Metrics;

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
/// CallMedia's own instruments (meter <c>CallMedia</c>), exported on <c>/metrics</c> next to the HTTP request
/// metrics, named there by the meter and the instrument (<c>tokens.issued</c> is <c>callmedia_tokens_issued</c>). Features call these; each call is a few nanoseconds and never throws. Job gauges count this node's work.
/// </summary>
public sealed class CallMediaMetrics
{
    public const string MeterName = "CallMedia";

    private readonly Counter<long> _tokensIssued;
    private readonly Counter<long> _tokensRedeemed;
    private readonly Counter<long> _bytesSent;
    private readonly UpDownCounter<long> _jobsQueued;
    private readonly UpDownCounter<long> _jobsRunning;
    private readonly Counter<long> _jobsFailed;
    private readonly Counter<long> _databaseErrors;

    public CallMediaMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _tokensIssued = meter.CreateCounter<long>("tokens.issued", description: "Tokens issued.");
        _tokensRedeemed = meter.CreateCounter<long>("tokens.redeemed", description: "Tokens redeemed (first use; range requests under the lease are not counted).");
        _bytesSent = meter.CreateCounter<long>("bytes.sent", description: "Response body bytes sent, by kind: file, zip, transcode.");
        _jobsQueued = meter.CreateUpDownCounter<long>("jobs.queued", description: "Transcodes and prepare jobs waiting on this node, by kind.");
        _jobsRunning = meter.CreateUpDownCounter<long>("jobs.running", description: "Transcodes and prepare jobs running on this node, by kind.");
        _jobsFailed = meter.CreateCounter<long>("jobs.failed", description: "Transcodes and prepare jobs that failed, by kind.");
        _databaseErrors = meter.CreateCounter<long>("database.errors", description: "Requests that failed on a database error.");
    }

    public void TokenIssued() => _tokensIssued.Add(1);

    /// <summary>A token was admitted: its redemption when first used, a range request under its lease otherwise (not counted).</summary>
    public void TokenAdmitted(bool firstUse)
    {
        if (firstUse)
        {
            _tokensRedeemed.Add(1);
        }
    }

    public void BytesSent(SentKind kind, long bytes) => _bytesSent.Add(bytes, Tag(kind));

    public void JobQueued(JobKind kind) => _jobsQueued.Add(1, Tag(kind));

    /// <summary>A job left the queue and started (call <see cref="JobQueued"/> first, or this only counts it running).</summary>
    public void JobStarted(JobKind kind, bool wasQueued = true)
    {
        if (wasQueued)
        {
            _jobsQueued.Add(-1, Tag(kind));
        }

        _jobsRunning.Add(1, Tag(kind));
    }

    public void JobFinished(JobKind kind, bool failed)
    {
        _jobsRunning.Add(-1, Tag(kind));
        if (failed)
        {
            _jobsFailed.Add(1, Tag(kind));
        }
    }

    /// <summary>A job failed (counted apart from <see cref="JobFinished"/>, where the runner learns of it).</summary>
    public void JobFailed(JobKind kind) => _jobsFailed.Add(1, Tag(kind));

    public void DatabaseError() => _databaseErrors.Add(1);

    private static KeyValuePair<string, object?> Tag(SentKind kind) => new("kind", kind switch
    {
        SentKind.File => "file",
        SentKind.Zip => "zip",
        _ => "transcode",
    });

    private static KeyValuePair<string, object?> Tag(JobKind kind) => new("kind", kind == JobKind.Transcode ? "transcode" : "prepare");
}
