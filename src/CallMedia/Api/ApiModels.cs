using System.Text.Json.Serialization;

namespace CallMedia.Api;

// The JSON shapes of /api/v1 (docs/api-v1.md). Required members are required in the OpenAPI document too.

public sealed record SignInRequest
{
    public required string LoginName { get; init; }

    public required string Password { get; init; }
}

#pragma warning disable CA1716 // "Me" names the JSON schema of GET /api/v1/me; no Visual Basic consumer exists
public sealed record Me
{
    public required string Name { get; init; }

    public required IReadOnlyList<string> Rights { get; init; }

    /// <summary><c>"all"</c>, or the numbers whose calls the user sees.</summary>
    public required object Scope { get; init; }

    public required DateTimeOffset SessionExpiresAt { get; init; }

    public required bool RequireReason { get; init; }
}
#pragma warning restore CA1716

public sealed record Party
{
    public required string Number { get; init; }

    public required string Name { get; init; }
}

public record CallSummary
{
    public required long Id { get; init; }

    public required string Sid { get; init; }

    public required DateTimeOffset Start { get; init; }

    public required DateTimeOffset Stop { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? StartLocal { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? StopLocal { get; init; }

    public required double DurationSeconds { get; init; }

    public required Party Calling { get; init; }

    public required Party Called { get; init; }

    /// <summary><c>audio</c>, <c>video</c>, <c>recd</c>.</summary>
    public required IReadOnlyList<string> Media { get; init; }
}

public sealed record CallPage
{
    public required IReadOnlyList<CallSummary> Items { get; init; }

    /// <summary>Pass as <c>cursor</c> for the next page; null on the last page.</summary>
    public required string? Next { get; init; }
}

public sealed record CallFile
{
    public required string Type { get; init; }

    public required string Format { get; init; }

    public required long Size { get; init; }

    public required double? DurationSeconds { get; init; }

    public required string Crc32 { get; init; }

    public required DateTimeOffset Start { get; init; }

    public required DateTimeOffset Stop { get; init; }

    public required bool Available { get; init; }
}

public sealed record CallActions
{
    public required bool Stream { get; init; }

    public required bool Download { get; init; }

    public required bool StreamVideo { get; init; }

    public required bool DownloadVideo { get; init; }

    public required bool Prepare { get; init; }
}

public sealed record CallDetail : CallSummary
{
    public required IReadOnlyList<CallFile> Files { get; init; }

    public required IReadOnlyList<Job> Jobs { get; init; }

    public required CallActions Actions { get; init; }
}

public sealed record Job
{
    public required long Id { get; init; }

    public required long CoupleId { get; init; }

    /// <summary><c>queued</c>, <c>running</c>, <c>done</c> or <c>failed</c>.</summary>
    public required string State { get; init; }

    public required int Progress { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }
}

public sealed record TokenRequest
{
    public required IReadOnlyList<long> Ids { get; init; }

    /// <summary>1 audio (default), 16 video.</summary>
    public int Type { get; init; } = 1;

    /// <summary><c>stream</c> (default), <c>download</c> or <c>prepare</c>.</summary>
    public string Action { get; init; } = "stream";

    public string? Reason { get; init; }

    /// <summary>Audio only: <c>stereo</c> (caller left, callee right), <c>mono</c>, <c>caller</c> or <c>callee</c>; default as recorded.</summary>
    public string? Channels { get; init; }

    /// <summary>Audio only: <c>mp3</c> or <c>wav</c> for converted audio; default the recorded format, MP3 where converted.</summary>
    public string? Format { get; init; }

    /// <summary>Stream or download: a file-name template, e.g. <c>{start:yyyy-MM-dd_HHmmss}_{calling}_{called}_{id}</c> (a stream's Content-Disposition name); default Delivery:FileNameTemplate.</summary>
    public string? Name { get; init; }

    /// <summary>Stream or download: IANA time zone of file names and calldata.json's local times; default Delivery:TimeZone.</summary>
    public string? Tz { get; init; }

    /// <summary>Download only: one call as a zip with calldata.txt and calldata.json.</summary>
    public bool Sidecar { get; init; }
}

public sealed record IssuedToken
{
    public required string Token { get; init; }

    public required string Url { get; init; }

    public required DateTimeOffset Expires { get; init; }
}

public sealed record AccessRecord
{
    public required DateTimeOffset At { get; init; }

    public required string? User { get; init; }

    public required string Action { get; init; }

    public required long? Bytes { get; init; }

    public required string Outcome { get; init; }

    public required string? Reason { get; init; }
}

public sealed record AccessList
{
    public required IReadOnlyList<AccessRecord> Items { get; init; }
}

public sealed record AuditRecord
{
    public required long Seq { get; init; }

    public required DateTimeOffset At { get; init; }

    public required string? User { get; init; }

    public required string? Client { get; init; }

    public required string Action { get; init; }

    public required IReadOnlyList<long> CoupleIds { get; init; }

    public required long? Bytes { get; init; }

    public required string Outcome { get; init; }

    public required string? Reason { get; init; }
}

public sealed record AuditPage
{
    public required IReadOnlyList<AuditRecord> Items { get; init; }

    public required string? Next { get; init; }
}

public sealed record AuditBreak
{
    public required long Seq { get; init; }

    public required string Problem { get; init; }
}

public sealed record AuditVerification
{
    public required bool Ok { get; init; }

    public required long Records { get; init; }

    /// <summary><c>seq:hash</c> of the last intact record; keep it to detect records removed from the end later.</summary>
    public required string? Head { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AuditBreak? FirstBad { get; init; }
}

public sealed record Peaks
{
    public required double DurationSeconds { get; init; }

    public required int PeaksPerSecond { get; init; }

    public required IReadOnlyList<IReadOnlyList<double>> Channels { get; init; }
}
