// @ts-check
/* Shapes of what the server sends: REST objects (CONTRACT.md) and websocket event payloads.
 * Types only; nothing here runs. Fields marked "extra" are ours beyond the contract. */

/**
 * @typedef {"received" | "queued" | "sent" | "delivered" | "read" | "failed"} MessageStatus
 *
 * @typedef {object} Attachment
 * @property {string} url
 * @property {string} content_type
 * @property {number | null} size
 * @property {string} filename
 *
 * @typedef {object} Message
 * @property {number} id
 * @property {"in" | "out"} direction
 * @property {string} kind
 * @property {string} text
 * @property {Attachment | null} attachment
 * @property {MessageStatus} status
 * @property {string} error_code
 * @property {string} error_message
 * @property {boolean} [closes_window] the server's word: this failure closed the 24-hour window
 * @property {string} created_at
 * @property {number | null} sender
 * @property {string | null} [sender_name]
 * @property {string | null} [template_name]
 * @property {string} [media_state]
 * @property {{latitude?: number, longitude?: number, name?: string, address?: string} | null} [location]
 *
 * @typedef {object} Note
 * @property {number} id
 * @property {number} interaction_id
 * @property {"agent" | "supervisor"} kind
 * @property {string} text
 * @property {string | null} author_name
 * @property {string} created_at
 *
 * @typedef {object} Interaction
 * @property {number} id
 * @property {number} account
 * @property {number} queue
 * @property {string} customer_phone
 * @property {string} [customer_name]
 * @property {"waiting" | "open" | "closed"} status
 * @property {number | null} owner
 * @property {string} started_at
 * @property {string | null} window_expires_at
 * @property {string | null} last_message_at
 * @property {"in" | "out" | ""} last_message_direction
 * @property {number} unread_count
 * @property {boolean} window_open
 * @property {string} [account_name]
 * @property {string} [queue_name]
 * @property {string | null} [owner_name]
 *
 * @typedef {object} Transfer
 * @property {number} id
 * @property {number | {id: number}} interaction
 * @property {number | null} from_agent
 * @property {string} [from_agent_name]
 * @property {number | null} to_agent
 * @property {string} [to_agent_name]
 * @property {number | null} to_queue
 * @property {string} [to_queue_name]
 * @property {"pending" | "accepted" | "declined" | "expired" | "cancelled"} status
 * @property {string} expires_at
 * @property {number | null} [accepted_by]
 * @property {string} [accepted_by_name]
 * @property {string} [customer_name]
 * @property {string} [customer_phone]
 * @property {number} [_at] when this page learnt of it (catch-up keeps newer ones)
 *
 * @typedef {object} Offer an offer of a waiting interaction to me, as the page keeps it
 * @property {Interaction} interaction
 * @property {number} [offer_id]
 * @property {string} expires_at
 * @property {string} [preview]
 * @property {number} addedAt
 *
 * @typedef {object} QueueInfo
 * @property {number} id
 * @property {string} name
 * @property {{id: number, name: string}[]} dispositions
 * @property {{id: number, title: string, text: string}[]} canned_answers
 * @property {number} [waiting]
 * @property {number} [offered]
 * @property {number} [open]
 *
 * @typedef {object} Settings
 * @property {"disabled" | "agent" | "queue" | "both"} transfers
 * @property {number} transfer_timeout
 * @property {boolean} attachments_enabled
 * @property {number} attachment_max_bytes
 *
 * @typedef {object} Rules what the server decides and the page must not copy
 * @property {Record<string, number>} message_status_rank statuses only move up this rank
 * @property {number} text_max_length the longest text WhatsApp takes, in characters (code points)
 *
 * @typedef {object} Me
 * @property {number} id
 * @property {string} username
 * @property {string} display_name
 * @property {string} role
 * @property {"online" | "paused" | "offline"} presence
 * @property {boolean} is_supervisor
 * @property {boolean} [can_download_transcripts] D10: may download PDF transcripts
 *
 * @typedef {object} Bootstrap the desktop-bootstrap JSON the page is served with
 * @property {Me} user
 * @property {Settings} settings
 * @property {Rules} rules
 * @property {QueueInfo[]} queues
 * @property {{id: number, name: string}[]} [accounts] the accounts of my queues (D10's filter)
 * @property {string} ws_url
 * @property {string} api_base
 * @property {string} server_time
 */

/* ----- websocket events: {"type": "<entity>.<verb>", "data": {...}} ------------------------------ */
/**
 * @typedef {{interaction: Interaction, offer_id?: number, id?: number, expires_at: string, preview?: string}} InteractionOfferedData
 * @typedef {{interaction_id: number, by: number | null, by_name?: string}} InteractionTakenData
 * @typedef {{interaction_id: number, reason: "expired" | "closed" | "rejected" | string}} OfferWithdrawnData
 * @typedef {{interaction: Interaction}} InteractionData interaction.assigned and interaction.updated
 * @typedef {{interaction_id: number, interaction?: Interaction, closed_by: number | null, closed_by_name: string}} InteractionClosedData
 * @typedef {{interaction_id: number, message: Message}} MessageData message.created and message.updated
 * @typedef {{interaction_id: number, message_id: number, status: MessageStatus, error_code: string, error_message?: string}} MessageStatusData
 * @typedef {{interaction_id: number, note: Note}} NoteCreatedData
 * @typedef {{queue_id: number, waiting?: number, offered?: number, open?: number}} QueueStatsData
 * @typedef {{user_id: number, presence: Me["presence"]}} AgentPresenceData
 * @typedef {{interaction_id: number, window_expires_at: string | null, recontact_available: boolean}} WindowExpiredData
 * @typedef {{transfer: Transfer, interaction?: Interaction, by_name?: string}} TransferData every transfer.* event
 * @typedef {{type: string, data?: any}} ServerEvent
 */

export {};
