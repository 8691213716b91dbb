namespace CallMedia.Auth;

/// <summary>The rights of API.md §5. Roles grant them; the token service asks for one per (type, action).</summary>
public static class Rights
{
    public const string AudioStream = "audio.stream";
    public const string AudioDownload = "audio.download";
    public const string VideoStream = "video.stream";
    public const string VideoDownload = "video.download";
    public const string VideoPrepare = "video.prepare";
    public const string Admin = "admin";

    /// <summary>Read the audit records of the calls in one's scope (the built-in role <c>auditor</c>).</summary>
    public const string Audit = "audit";

    public static readonly IReadOnlyList<string> All = [AudioStream, AudioDownload, VideoStream, VideoDownload, VideoPrepare, Audit, Admin];
}

/// <summary>What one user may do and see, loaded fresh for every token issue and every send.</summary>
public sealed record UserAccess(long UserId, string Name, bool Disabled, IReadOnlySet<string> Rights, bool ScopeAll, IReadOnlySet<string> Numbers)
{
    public bool Has(string right) => !Disabled && Rights.Contains(right);

    /// <summary>
    /// Whether the user sees no call at all: one without any right (a user added without a role, or whose roles were
    /// all revoked, has no business with recordings, whatever its scope says), or with an empty scope list.
    /// </summary>
    public bool SeesNoCalls => Rights.Count == 0 || (!ScopeAll && Numbers.Count == 0);

    /// <summary>
    /// A couple is visible when the scope is <c>all</c> or either party's number is in the scope list, to a user with
    /// at least one right (<see cref="SeesNoCalls"/>).
    /// </summary>
    public bool CanSee(string callingNumber, string calledNumber) =>
        Rights.Count > 0 && (ScopeAll || Numbers.Contains(callingNumber) || Numbers.Contains(calledNumber));
}
