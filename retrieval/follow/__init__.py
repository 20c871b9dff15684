"""Following agencies and new bulletins: who follows what, what was sent, what a new index
generation brought. Shared by the action server (which writes subscriptions: it knows the sender)
and the gateway's notifier (which reads them and sends): it sits in the first stage so both may
import it without reaching across stages."""
