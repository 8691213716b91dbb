namespace CallMedia.Hosting;

/// <summary>
/// Where 302 answers send a person to sign in (<c>/callrec/?return=...</c>): the web app's sign-in page, which
/// comes back to <c>return</c> afterwards when that is a path on this site (never another site: no open redirect).
/// </summary>
public static class SignInPage
{
    public const string Path = "/sign-in";

    public static IResult Render(HttpContext context)
    {
        var back = context.Request.Query["return"].ToString();
        return Results.Redirect(IsLocalPath(back) ? Path + "?return=" + Uri.EscapeDataString(back) : Path);
    }

    /// <summary>
    /// A path on this site: starts with one <c>/</c> and not <c>//host</c> or <c>/\host</c> (which browsers read as
    /// another site), with no backslash or control character anywhere (browsers fold or drop those), and no dot
    /// segment (<c>.</c>, <c>..</c>, also as <c>%2e</c>), which browsers fold away: <c>/.//host</c> is <c>//host</c>.
    /// </summary>
    public static bool IsLocalPath(string? path) =>
        !string.IsNullOrEmpty(path) && path.Length <= 2048 && path[0] == '/'
        && (path.Length == 1 || path[1] != '/')
        && !path.Contains('\\', StringComparison.Ordinal) && !path.Any(char.IsControl)
        && !path.Split('?', '#')[0].Replace("%2e", ".", StringComparison.OrdinalIgnoreCase).Split('/').Any(s => s is "." or "..");
}
