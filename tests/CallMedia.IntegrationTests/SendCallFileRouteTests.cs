using System.Diagnostics;
using System.Net;
using CallMedia.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CallMedia.IntegrationTests;

/// <summary>The send call file requests skip routing's matching (Delivery/SendCallFileEndpoints.UseSendCallFileRoute).</summary>
public sealed class SendCallFileRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Redemption_IsNotMatchedByRouting_ATokenRequestIs()
    {
        using var client = fixture.Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");
        var matched = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var subscription = DiagnosticListener.AllListeners.Subscribe(new Observer<DiagnosticListener>(listener =>
        {
            if (listener.Name == "Microsoft.AspNetCore")
            {
                // Routing says so when its matcher found the endpoint; not when the endpoint was set before it.
                listener.Subscribe(new Observer<KeyValuePair<string, object?>>(e =>
                {
                    if (e.Key == "Microsoft.AspNetCore.Routing.EndpointMatched" && e.Value is HttpContext context)
                    {
                        matched.Add(context.Request.Path.Value + context.Request.QueryString.Value);
                    }
                }), name => name == "Microsoft.AspNetCore.Routing.EndpointMatched");
            }
        }));

        using (var sent = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        }

        await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");

        Assert.DoesNotContain(matched, m => m.Contains(token, StringComparison.Ordinal));
        Assert.Contains(matched, m => m.Contains("downloadtoken", StringComparison.Ordinal));
    }

    private sealed class Observer<T>(Action<T> onNext) : IObserver<T>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(T value) => onNext(value);
    }
}
