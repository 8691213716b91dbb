using System.Globalization;
using System.Text.RegularExpressions;
using CallMedia.Calls;

namespace CallMedia.Retention;

/// <summary>Bad retention input (a policy or a hold): the message says what is wrong; nothing was changed.</summary>
public sealed class RetentionInputException(string message, string? field = null) : Exception(message)
{
    public string? Field { get; } = field;
}

/// <summary>
/// How long a policy keeps a call after it ended: a number and a unit, <c>d</c> days, <c>w</c> weeks, <c>m</c>
/// calendar months, <c>y</c> calendar years (<c>90d</c>, <c>3y</c>).
/// </summary>
public readonly partial record struct KeepPeriod(int Amount, char Unit)
{
    [GeneratedRegex("^([1-9][0-9]{0,4})([dwmy])$", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();

    public static KeepPeriod Parse(string? text)
    {
        var match = Shape().Match(text?.Trim() ?? "");
        if (!match.Success)
        {
            throw new RetentionInputException("keep must be a number and a unit: d (days), w (weeks), m (months) or y (years), e.g. 90d or 3y.", "keep");
        }

        var period = new KeepPeriod(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value[0]);
        if (period.ApproximateDays > 100 * 366)
        {
            throw new RetentionInputException("keep may be at most 100 years.", "keep");
        }

        return period;
    }

    /// <summary>The end of the period that starts at <paramref name="from"/>.</summary>
    public DateTimeOffset After(DateTimeOffset from) => Unit switch
    {
        'd' => from.AddDays(Amount),
        'w' => from.AddDays(7 * Amount),
        'm' => from.AddMonths(Amount),
        _ => from.AddYears(Amount),
    };

    /// <summary>The shortest this period can be, in days (a month is at least 28 days, a year 365).</summary>
    public long MinimumDays => Unit switch { 'd' => Amount, 'w' => 7L * Amount, 'm' => 28L * Amount, _ => 365L * Amount };

    private long ApproximateDays => Unit switch { 'd' => Amount, 'w' => 7L * Amount, 'm' => 31L * Amount, _ => 366L * Amount };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Amount}{Unit}");
}

/// <summary>A retention policy as stored: which calls (media, numbers) are kept how long after they ended.</summary>
public sealed class RetentionPolicy
{
    public long Id { get; set; }

    public string Name { get; set; } = "";

    /// <summary><c>audio</c>, <c>video</c> (mixed videos and screen captures) or <c>all</c>.</summary>
    public string Media { get; set; } = "all";

    /// <summary>Comma-separated numbers: the policy covers calls with either party's number among them; empty covers every call.</summary>
    public string Numbers { get; set; } = "";

    public string Keep { get; set; } = "";

    public string CreatedBy { get; set; } = "";

    public long CreatedAt { get; set; }

    public IReadOnlyList<string> NumberList => Numbers.Split(',', StringSplitOptions.RemoveEmptyEntries);

    public KeepPeriod Period => KeepPeriod.Parse(Keep);

    /// <summary>The media type bits the policy covers.</summary>
    public int TypeBits => RetentionRules.TypeBits(Media);

    public bool Covers(Couple couple, int type) =>
        (TypeBits & type) != 0 && (Numbers.Length == 0 || NumberList.Contains(couple.CallingNumber) || NumberList.Contains(couple.CalledNumber));
}

/// <summary>A legal hold as stored: exactly one of couple id, sid, number or a time range (of the call's start) names the calls.</summary>
public sealed class LegalHold
{
    public long Id { get; set; }

    public long? CoupleId { get; set; }

    public string? Sid { get; set; }

    public string? Number { get; set; }

    public long? FromAt { get; set; }

    public long? ToAt { get; set; }

    public string Reason { get; set; } = "";

    public string PlacedBy { get; set; } = "";

    public long PlacedAt { get; set; }

    public long? ReleasedAt { get; set; }

    public string? ReleasedBy { get; set; }

    public string? ReleaseReason { get; set; }

    public bool Active => ReleasedAt is null;

    public bool Holds(Couple c) => Active && (
        (CoupleId is { } id && c.Id == id)
        || (Sid is { } sid && c.Sid == sid)
        || (Number is { } n && (c.CallingNumber == n || c.CalledNumber == n))
        || ((FromAt is not null || ToAt is not null) && c.StartAt >= (FromAt ?? long.MinValue) && c.StartAt < (ToAt ?? long.MaxValue)));

    /// <summary>What the hold names, for listings: <c>call 1001</c>, <c>sid X</c>, <c>number N</c>, <c>calls started from .. to ..</c>.</summary>
    public string Selector => CoupleId is { } id ? string.Create(CultureInfo.InvariantCulture, $"call {id}")
        : Sid is { } sid ? $"sid {sid}"
        : Number is { } n ? $"number {n}"
        : $"calls started {(FromAt is { } f ? "from " + Iso(f) : "")}{(FromAt is not null && ToAt is not null ? " " : "")}{(ToAt is { } t ? "before " + Iso(t) : "")}";

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>One couple's files the purge deletes: which type bits, why, and the files.</summary>
public sealed record PurgeCandidate(Couple Couple, int Types, string Policies, IReadOnlyList<MediaFile> Files);

/// <summary>The pure rules: when a couple's files of a type are due, and whether a hold keeps them.</summary>
public static class RetentionRules
{
    public static readonly string[] MediaNames = ["audio", "video", "all"];

    public static int TypeBits(string media) => media switch
    {
        "audio" => MediaType.Audio,
        "video" => MediaType.Video | MediaType.Recd,
        "all" => MediaType.Audio | MediaType.Video | MediaType.Recd,
        _ => throw new RetentionInputException("media must be audio, video or all.", "media"),
    };

    /// <summary>
    /// When the couple's files of <paramref name="type"/> may go: the latest end among the policies that cover them (the
    /// longest wins); null when no policy covers them (kept for ever).
    /// </summary>
    public static (DateTimeOffset DueAt, RetentionPolicy Policy)? Due(Couple couple, int type, IEnumerable<RetentionPolicy> policies)
    {
        (DateTimeOffset, RetentionPolicy)? latest = null;
        foreach (var p in policies.Where(p => p.Covers(couple, type)))
        {
            var due = p.Period.After(couple.Stop);
            if (latest is null || due > latest.Value.Item1)
            {
                latest = (due, p);
            }
        }

        return latest;
    }

    /// <summary>The files of the couple that are due at <paramref name="now"/>, unless a hold keeps the couple; null when nothing goes.</summary>
    public static PurgeCandidate? Plan(Couple couple, IReadOnlyList<MediaFile> files, IReadOnlyList<RetentionPolicy> policies, IReadOnlyList<LegalHold> holds, DateTimeOffset now)
    {
        if (files.Count == 0 || holds.Any(h => h.Holds(couple)))
        {
            return null;
        }

        var types = 0;
        var why = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in files.Select(f => (int)f.Type).Distinct())
        {
            if (Due(couple, type, policies) is { } due && now >= due.DueAt)
            {
                types |= type;
                why.Add(due.Policy.Name);
            }
        }

        return types == 0 ? null : new PurgeCandidate(couple, types, string.Join(',', why), files.Where(f => (f.Type & types) != 0).ToList());
    }
}
