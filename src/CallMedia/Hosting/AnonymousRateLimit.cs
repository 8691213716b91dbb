using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace CallMedia.Hosting;

/// <summary>
/// Requests without a session, and every sign-in, are limited per client address
/// (<c>Hosting:AnonymousRequestsPerMinute</c>), so nobody can grow the database (throttle rows, audit) without
/// signing in. Beyond the limit: 429 with <c>Retry-After</c>, as problem details on the JSON API and in the CallREC framing elsewhere.
/// </summary>
public static class AnonymousRateLimit
{
    public static IServiceCollection AddAnonymousRateLimit(this IServiceCollection services, IConfiguration configuration)
    {
        var perMinute = configuration.GetValue("Hosting:AnonymousRequestsPerMinute", 600);
        if (perMinute < 1)
        {
            throw new InvalidOperationException("Hosting:AnonymousRequestsPerMinute must be at least 1.");
        }

        services.AddRateLimiter(o =>
        {
            // Only anonymous requests reach the limiter (UseAnonymousRateLimit).
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                RateLimitPartition.GetFixedWindowLimiter(context.ClientAddress(), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = perMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
            o.OnRejected = (rejected, ct) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)) : 60;
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                // In the caller's language: problem details on the JSON API, the CallREC framing elsewhere.
                var refusal = rejected.HttpContext.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
                    ? Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too Many Requests", detail: "Too many requests from this address; retry later.")
                    : CallRecResults.Error(StatusCodes.Status429TooManyRequests, ErrorNumbers.RateLimited, "Too many requests from this address; retry later.");
                return new ValueTask(refusal.ExecuteAsync(rejected.HttpContext));
            };
        });
        return services;
    }

    /// <summary>
    /// After <c>UseSessionIdPathParameter</c>, which finds the session a request carries. A request with a session (every
    /// delivery) does not enter the limiter at all: no lease taken and returned, under the limiter's lock, for nothing.
    /// </summary>
    public static IApplicationBuilder UseAnonymousRateLimit(this IApplicationBuilder app) =>
        app.UseWhen(IsAnonymous, branch => branch.UseRateLimiter());

    private static bool IsStaticAsset(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && request.Path.StartsWithSegments("/assets", StringComparison.Ordinal);

    /// <summary>
    /// Requests without a session, and every sign-in. The web app's static assets (<c>GET /assets/...</c>, bytes held
    /// in memory, nothing written) do not count: an office behind one address loading the sign-in page would
    /// otherwise use up the allowance its sign-ins need.
    /// </summary>
    private static bool IsAnonymous(HttpContext context) =>
        (context.SessionCandidates().Count == 0 && !IsStaticAsset(context.Request))
        || context.Request.Path.StartsWithSegments("/callrec/loginservlet", StringComparison.OrdinalIgnoreCase)
        || (HttpMethods.IsPost(context.Request.Method) && context.Request.Path.StartsWithSegments("/api/v1/session", StringComparison.Ordinal));
}
