namespace CallMedia.Api;

/// <summary><c>Web:*</c> settings the API enforces.</summary>
public sealed class ApiOptions
{
    public const string Section = "Web";

    /// <summary>Token requests must give a reason, which the audit record of the issue keeps.</summary>
    public bool RequireReason { get; set; }
}
