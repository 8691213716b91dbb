using CallMedia.Audit;
using CallMedia.Hosting;

namespace CallMedia.Auth;

public enum SignInResult
{
    Ok,
    Denied,
    Throttled,
}

/// <summary>What one sign-in attempt came to; <see cref="SessionId"/> only when it succeeded.</summary>
public sealed record SignInOutcome(SignInResult Result, string? SessionId = null, string? UserName = null, TimeSpan? RetryAfter = null);

/// <summary>
/// The one sign-in procedure of every entry point (the CallREC loginservlet and the JSON API): throttle per name
/// and address, a password check that costs one hash whether or not the name exists, the audit record, a new
/// session. The callers only frame the answer and set the cookie.
/// </summary>
public sealed class SignIn(UserStore users, LoginThrottle throttle, SessionService sessions, DemoAccount demo, RequestAudit audit)
{
    public async Task<SignInOutcome> AttemptAsync(HttpContext context, string? name, string? password)
    {
        var ct = context.RequestAborted;
        if (name is not null && (name.Length > 256 || name.Any(char.IsControl)))
        {
            name = null; // no such user can exist; counted against the address only
        }

        var client = context.ClientAddress();
        var wait = await throttle.TryAdmitAsync(name, client, ct);
        if (wait is not null)
        {
            await audit.WriteAsync(context, name, "login", "throttled");
            return new SignInOutcome(SignInResult.Throttled, RetryAfter: wait);
        }

        var user = string.IsNullOrEmpty(name) ? null : await users.FindForLoginAsync(name, ct);

        // Always verify a hash, even for an unknown name, so timing tells nothing about which part was wrong.
        var passwordOk = PasswordHashing.Verify(user?.PasswordHash ?? PasswordHashing.DummyHash, password ?? "");
        if (user is null || !passwordOk || user.Value.Disabled || string.IsNullOrEmpty(password) || demo.Refuses(context, name, password))
        {
            // The attempt was counted as a failure when it was admitted.
            await audit.WriteAsync(context, name, "login", "denied");
            return new SignInOutcome(SignInResult.Denied);
        }

        await throttle.RecordSuccessAsync(name!, client, ct);
        var sessionId = await sessions.CreateAsync(user.Value.Id, client, ct);
        await audit.WriteAsync(context, name, "login", "ok");
        return new SignInOutcome(SignInResult.Ok, sessionId, name);
    }

    /// <summary>The session cookie: <paramref name="path"/> is <c>/callrec</c> for the loginservlet (API.md §1), <c>/</c> for the JSON API.</summary>
    public static void SetCookie(HttpContext context, string sessionId, string path) =>
        context.Response.Cookies.Append("JSESSIONID", sessionId, new CookieOptions
        {
            Path = path,
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = SameSiteMode.Lax,
        });
}
