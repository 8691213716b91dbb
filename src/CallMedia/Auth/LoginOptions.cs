using System.ComponentModel.DataAnnotations;

namespace CallMedia.Auth;

/// <summary><c>Login:*</c> — throttling of failed sign-ins (API.md §5).</summary>
public sealed class LoginOptions
{
    public const string Section = "Login";

    /// <summary>Failures of one name from one client address before each further attempt of that pair must wait.</summary>
    [Range(1, 1_000_000)]
    public int FreeFailuresPerNameAndAddress { get; set; } = 5;

    /// <summary>Failures of one name from all addresses before addresses that failed for it must wait too.</summary>
    [Range(1, 1_000_000)]
    public int FreeFailuresPerName { get; set; } = 100;

    /// <summary>Failures from one client address before it must wait (higher: offices share addresses).</summary>
    [Range(1, 1_000_000)]
    public int FreeFailuresPerAddress { get; set; } = 50;

    /// <summary>The first wait; it doubles with every further failure.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait, so an attacker can slow a user's sign-in but never lock it out for good.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Failures older than this (since the last one) are forgotten.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(15);
}
