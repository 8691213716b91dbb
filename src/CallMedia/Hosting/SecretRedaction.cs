using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace CallMedia.Hosting;

/// <summary>
/// Keeps session ids, tokens and passwords out of every log, whatever the logging configuration says (provider-level
/// levels such as <c>Logging:Console:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics</c> override any filter set in
/// code). The framework logs the request line ("Request starting ...") before the first middleware runs, so the
/// request is rewritten where the server hands it to the application: <c>;jsessionid=</c> is taken off the path
/// (kept aside as the session candidate) and the values of secret query parameters are replaced. The first middleware
/// puts the real query back for the application and the redacted one again before "Request finished" is logged.
/// </summary>
public static class SecretRedaction
{
    private static readonly string[] SecretParameters = ["token", "password", "jsessionid", "sessionid"];

    public static IServiceCollection AddSecretRedaction(this IServiceCollection services)
    {
        var inner = services.LastOrDefault(d => d.ServiceType == typeof(IServer))
            ?? throw new InvalidOperationException("No server is registered to wrap.");
        services.Remove(inner);
        services.AddSingleton<IServer>(sp => new RedactingServer(Resolve(sp, inner)));
        services.AddTransient<IStartupFilter, RestoreQueryFilter>();
        return services;
    }

    /// <summary>The query with the values of secret parameters replaced, or null when it holds none.</summary>
    public static string? Redact(string query)
    {
        if (query.Length < 2)
        {
            return null;
        }

        // Every request passes here: the parameters are walked in place, and a new query is built only when one is secret.
        StringBuilder? redacted = null;
        var copied = 0;
        for (var position = 1; position <= query.Length;)
        {
            var end = query.IndexOf('&', position);
            end = end < 0 ? query.Length : end;
            var eq = query.AsSpan(position, end - position).IndexOf('=');
            if (eq >= 0 && IsSecret(query.AsSpan(position, eq)))
            {
                redacted ??= new StringBuilder(query.Length);
                redacted.Append(query, copied, position + eq + 1 - copied).Append("***");
                copied = end;
            }

            position = end + 1;
        }

        return redacted?.Append(query, copied, query.Length - copied).ToString();
    }

    /// <summary>Whether a parameter's name (as written: percent-encoded, + for a space) names a secret.</summary>
    private static bool IsSecret(ReadOnlySpan<char> rawKey)
    {
        var key = rawKey.ContainsAny('%', '+') ? Unescape(rawKey.ToString()) : rawKey.Trim();
        foreach (var secret in SecretParameters)
        {
            if (key.Contains(secret, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;

        static ReadOnlySpan<char> Unescape(string rawKey)
        {
            try
            {
                return Uri.UnescapeDataString(rawKey.Replace('+', ' ')).Trim();
            }
            catch (UriFormatException)
            {
                return rawKey;
            }
        }
    }

    private static IServer Resolve(IServiceProvider sp, ServiceDescriptor d) =>
        d.ImplementationInstance as IServer
        ?? d.ImplementationFactory?.Invoke(sp) as IServer
        ?? (IServer)ActivatorUtilities.CreateInstance(sp, d.ImplementationType!);

    private static void RedactRequest(IFeatureCollection features)
    {
        var request = features.Get<IHttpRequestFeature>();
        if (request is null)
        {
            return;
        }

        var (path, session) = SessionIdPathParameter.Strip(request.Path);
        var redacted = Redact(request.QueryString);
        if (session is null && redacted is null)
        {
            return;
        }

        features.Set(new SecretsFeature(session, redacted is null ? null : request.QueryString));
        request.Path = path;
        request.QueryString = redacted ?? request.QueryString;
        request.RawTarget = request.Path + request.QueryString;
    }

    /// <summary>What was taken out of the request before anything could log it.</summary>
    internal sealed record SecretsFeature(string? PathSession, string? Query);

    private sealed class RedactingServer(IServer inner) : IServer
    {
        public IFeatureCollection Features => inner.Features;

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull =>
            inner.StartAsync(new RedactingApplication<TContext>(application), cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    private sealed class RedactingApplication<TContext>(IHttpApplication<TContext> inner) : IHttpApplication<TContext>
        where TContext : notnull
    {
        public TContext CreateContext(IFeatureCollection contextFeatures)
        {
            RedactRequest(contextFeatures);
            return inner.CreateContext(contextFeatures);
        }

        public Task ProcessRequestAsync(TContext context) => inner.ProcessRequestAsync(context);

        public void DisposeContext(TContext context, Exception? exception) => inner.DisposeContext(context, exception);
    }

    private sealed class RestoreQueryFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                var secrets = context.Features.Get<SecretsFeature>();
                if (secrets?.Query is null)
                {
                    await nextMiddleware(context);
                    return;
                }

                var redacted = context.Request.QueryString;
                context.Request.QueryString = new QueryString(secrets.Query);
                try
                {
                    await nextMiddleware(context);
                }
                finally
                {
                    context.Request.QueryString = redacted;
                }
            });
            next(app);
        };
    }
}
